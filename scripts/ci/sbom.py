#!/usr/bin/env python3
"""A CycloneDX 1.6 SBOM of the build, from `cargo metadata` and Cargo.lock, validated.

Every package the locked build resolves to for the host platform is a component: name,
version, purl (crates.io packages), licence expression, the SHA-256 Cargo.lock pins, the
repository. A component is `required` when a workspace crate reaches it through normal
dependencies (its code or macros go into the build) and `excluded` when only building or
testing needs it. `dependencies` holds the resolved graph. The document is checked against the
CycloneDX 1.6 JSON schema that cyclonedx-python-lib ships (strict: no unknown properties); an
invalid one is not written.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import pathlib
import subprocess
import sys
import tomllib
import uuid

SPEC_VERSION = "1.6"


def cargo_metadata(manifest: pathlib.Path) -> dict:
    host = next(
        line.split(": ", 1)[1]
        for line in subprocess.run(
            ["rustc", "-vV"], check=True, capture_output=True, text=True
        ).stdout.splitlines()
        if line.startswith("host: ")
    )
    result = subprocess.run(
        [
            "cargo", "metadata", "--format-version", "1", "--locked", "--offline",
            "--filter-platform", host, "--manifest-path", str(manifest),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(result.stdout)


def licence_expression(text: str) -> str:
    # Cargo's old `MIT/Apache-2.0` spelling means OR.
    return " OR ".join(part.strip() for part in text.split("/"))


def bom(metadata: dict, lock: dict, root: str, now: dt.datetime, serial: uuid.UUID) -> dict:
    """The SBOM document for the workspace whose metadata and lock file are given."""
    checksums = {
        (p["name"], p["version"]): p["checksum"] for p in lock.get("package", []) if "checksum" in p
    }
    packages = {p["id"]: p for p in metadata["packages"]}
    refs = {pid: f"{p['name']}@{p['version']}" for pid, p in packages.items()}
    if len(set(refs.values())) != len(refs):
        raise ValueError("two resolved packages share a name and version")
    nodes = {node["id"]: node for node in metadata["resolve"]["nodes"]}
    members = set(metadata["workspace_members"])

    required: set[str] = set()
    pending = list(members)
    while pending:
        pid = pending.pop()
        for dep in nodes[pid]["deps"]:
            normal = any(kind["kind"] is None for kind in dep["dep_kinds"])
            if normal and dep["pkg"] not in required:
                required.add(dep["pkg"])
                pending.append(dep["pkg"])

    def component(pid: str) -> dict:
        package = packages[pid]
        entry = {
            "type": "application" if pid in members and package["name"] == root else "library",
            "bom-ref": refs[pid],
            "name": package["name"],
            "version": package["version"],
        }
        if package.get("description"):
            entry["description"] = package["description"].strip()
        if pid not in members:
            entry["scope"] = "required" if pid in required else "excluded"
        checksum = checksums.get((package["name"], package["version"]))
        if checksum:
            entry["hashes"] = [{"alg": "SHA-256", "content": checksum}]
        if package.get("license"):
            entry["licenses"] = [{"expression": licence_expression(package["license"])}]
        source = package.get("source") or ""
        if source.startswith("registry+https://github.com/rust-lang/crates.io-index"):
            entry["purl"] = f"pkg:cargo/{package['name']}@{package['version']}"
        if package.get("repository"):
            entry["externalReferences"] = [{"type": "vcs", "url": package["repository"]}]
        return entry

    root_id = next(
        (pid for pid in members if packages[pid]["name"] == root), None
    )
    if root_id is None:
        raise ValueError(f"no workspace crate named {root}")
    return {
        "bomFormat": "CycloneDX",
        "specVersion": SPEC_VERSION,
        "serialNumber": serial.urn,
        "version": 1,
        "metadata": {
            "timestamp": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "lifecycles": [{"phase": "build"}],
            "tools": {
                "components": [
                    {"type": "application", "name": "scripts/ci/sbom.py (benteng)"}
                ]
            },
            "component": component(root_id),
        },
        "components": [component(pid) for pid in sorted(packages, key=refs.get) if pid != root_id],
        "dependencies": [
            {
                "ref": refs[pid],
                "dependsOn": sorted({refs[dep["pkg"]] for dep in nodes[pid]["deps"]}),
            }
            for pid in sorted(nodes, key=refs.get)
        ],
    }


def validation_error(document: str) -> str | None:
    """Why `document` is not a valid CycloneDX 1.6 JSON SBOM, or None."""
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(document)
    return None if error is None else str(error)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest-path", type=pathlib.Path, default=pathlib.Path("Cargo.toml"))
    parser.add_argument("--root", default="benteng", help="the workspace crate the build ships")
    parser.add_argument("--output", type=pathlib.Path, required=True)
    args = parser.parse_args(argv)

    metadata = cargo_metadata(args.manifest_path)
    lock_path = pathlib.Path(metadata["workspace_root"]) / "Cargo.lock"
    lock = tomllib.loads(lock_path.read_text(encoding="utf-8"))
    document = json.dumps(
        bom(metadata, lock, args.root, dt.datetime.now(dt.timezone.utc), uuid.uuid4()),
        indent=2,
    )
    error = validation_error(document)
    if error is not None:
        print(f"error: the SBOM is not valid CycloneDX {SPEC_VERSION}: {error}", file=sys.stderr)
        return 1
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(document + "\n", encoding="utf-8")
    components = json.loads(document)["components"]
    required = sum(1 for c in components if c.get("scope") == "required")
    print(
        f"{args.output}: CycloneDX {SPEC_VERSION}, {len(components)} components "
        f"({required} in the build, the rest only to build or test it), valid"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
