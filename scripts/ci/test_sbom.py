"""sbom.py's document, on `cargo metadata` and Cargo.lock of a scratch crate (`sast-vuln`: smallvec
0.6.13, which depends on maybe-uninit, and cfg-if as a dev-dependency only), and the schema
check it relies on, shown to refuse broken documents."""

import datetime as dt
import json
import pathlib
import tomllib
import unittest
import uuid

import sbom

FIXTURES = pathlib.Path(__file__).parent / "fixtures"
METADATA = json.loads((FIXTURES / "cargo-metadata-smallvec.json").read_text(encoding="utf-8"))
LOCK = tomllib.loads((FIXTURES / "Cargo-smallvec.lock").read_text(encoding="utf-8"))
NOW = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.timezone.utc)


def document():
    return sbom.bom(METADATA, LOCK, "sast-vuln", NOW, uuid.UUID(int=1))


class Sbom(unittest.TestCase):
    def test_the_document_is_valid_cyclonedx_1_6(self):
        self.assertIsNone(sbom.validation_error(json.dumps(document())))

    def test_each_locked_package_is_a_component_with_its_pinned_hash(self):
        components = {c["name"]: c for c in document()["components"]}
        self.assertEqual(set(components), {"smallvec", "maybe-uninit", "cfg-if"})
        smallvec = components["smallvec"]
        self.assertEqual(smallvec["purl"], "pkg:cargo/smallvec@0.6.13")
        self.assertEqual(
            smallvec["hashes"],
            [
                {
                    "alg": "SHA-256",
                    "content": "f7b0758c52e15a8b5e3691eae6cc559f08eee9406e548a4477ba4e67770a82b6",
                }
            ],
        )
        # Cargo's old `MIT/Apache-2.0` spelling becomes an SPDX expression.
        self.assertEqual(smallvec["licenses"], [{"expression": "MIT OR Apache-2.0"}])

    def test_what_only_tests_need_is_excluded_from_the_build(self):
        scopes = {c["name"]: c["scope"] for c in document()["components"]}
        self.assertEqual(
            scopes, {"smallvec": "required", "maybe-uninit": "required", "cfg-if": "excluded"}
        )

    def test_the_graph_and_the_shipped_crate_are_recorded(self):
        bom = document()
        self.assertEqual(bom["metadata"]["component"]["bom-ref"], "sast-vuln@0.1.0")
        self.assertEqual(bom["metadata"]["component"]["type"], "application")
        graph = {d["ref"]: d["dependsOn"] for d in bom["dependencies"]}
        self.assertEqual(graph["sast-vuln@0.1.0"], ["cfg-if@1.0.5", "smallvec@0.6.13"])
        self.assertEqual(graph["smallvec@0.6.13"], ["maybe-uninit@2.0.0"])

    def test_the_schema_check_refuses_broken_documents(self):
        wrong_type = document()
        wrong_type["version"] = "1"
        unknown_property = document()
        unknown_property["components"][0]["checksum"] = "abc"
        no_name = document()
        del no_name["components"][0]["name"]
        bad_hash = document()
        bad_hash["components"][0]["hashes"][0]["content"] = "not hex"
        for broken in (wrong_type, unknown_property, no_name, bad_hash):
            self.assertIsNotNone(sbom.validation_error(json.dumps(broken)))


if __name__ == "__main__":
    unittest.main()
