#!/usr/bin/env python3
"""An independent implementation of the BAH Sgntr profile (lxml + cryptography), used by the
crate's tests as the outside verifier and signer. It shares no code with the Rust crate.

  iso_dsig.py verify MESSAGE CERT_PEM          exit 0 if all three references and the
                                               SignatureValue verify; prints what failed
  iso_dsig.py sign UNSIGNED KEY_PEM CERT_PEM OUT
                                               signs a message whose AppHdr has an empty Sgntr
                                               (references in Mastercard order: AppHdr,
                                               Document, KeyInfo)
  iso_dsig.py c14n FILE                        exclusive c14n of AppHdr (minus ds:Signature),
                                               Document, and any ds:KeyInfo / ds:SignedInfo,
                                               one base64 line each
"""
import base64
import copy
import hashlib
import sys
import uuid

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from lxml import etree

DS = "http://www.w3.org/2000/09/xmldsig#"
HEAD = "urn:iso:std:iso:20022:tech:xsd:head.001.001.02"
EXC = "http://www.w3.org/2001/10/xml-exc-c14n#"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
NS = {"ds": DS, "h": HEAD}


def parse(path):
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return etree.parse(path, parser).getroot()


def c14n(element):
    return etree.tostring(element, method="c14n", exclusive=True, with_comments=False)


def parts(root):
    app = root.find("h:AppHdr", NS)
    docs = [e for e in root if isinstance(e.tag, str) and etree.QName(e).localname == "Document"]
    if app is None or len(docs) != 1:
        raise SystemExit("envelope: expected one AppHdr and one Document")
    return app, docs[0]


def app_without_signature(app):
    copied = copy.deepcopy(app)
    for signature in copied.findall(".//ds:Signature", NS):
        parent = signature.getparent()
        tail = signature.tail or ""
        previous = signature.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
        parent.remove(signature)
    return copied


def digest(data):
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def verify(message, cert_pem):
    root = parse(message)
    app, document = parts(root)
    signature = app.find("h:Sgntr/ds:Signature", NS)
    if signature is None:
        print("no ds:Signature in AppHdr/Sgntr")
        return 1
    signed_info = signature.find("ds:SignedInfo", NS)
    key_info = signature.find("ds:KeyInfo", NS)
    ok = True
    if signed_info.find("ds:CanonicalizationMethod", NS).get("Algorithm") != EXC:
        print("CanonicalizationMethod: not exc-c14n")
        ok = False
    if signed_info.find("ds:SignatureMethod", NS).get("Algorithm") != RSA_SHA256:
        print("SignatureMethod: not rsa-sha256")
        ok = False
    references = signed_info.findall("ds:Reference", NS)
    seen = []
    for reference in references:
        uri = reference.get("URI")
        transforms = [t.get("Algorithm") for t in reference.findall("ds:Transforms/ds:Transform", NS)]
        if uri is None:
            name, target, expected = "Document", document, [EXC]
        elif uri == "":
            name, target, expected = "AppHdr", app_without_signature(app), [ENVELOPED, EXC]
        elif key_info is not None and uri == "#" + (key_info.get("Id") or ""):
            name, target, expected = "KeyInfo", key_info, [EXC]
        else:
            print(f"reference {uri!r}: not part of the profile")
            ok = False
            continue
        seen.append(name)
        if transforms != expected:
            print(f"{name}: transforms {transforms}")
            ok = False
        if reference.find("ds:DigestMethod", NS).get("Algorithm") != SHA256:
            print(f"{name}: digest method is not sha256")
            ok = False
        value = "".join(reference.findtext("ds:DigestValue", namespaces=NS).split())
        if digest(c14n(target)) != value:
            print(f"{name}: digest mismatch")
            ok = False
        else:
            print(f"{name}: digest ok")
    if sorted(seen) != ["AppHdr", "Document", "KeyInfo"]:
        print(f"references: {seen}, expected AppHdr, Document and KeyInfo once each")
        ok = False
    with open(cert_pem, "rb") as f:
        certificate = x509.load_pem_x509_certificate(f.read())
    carried = "".join(key_info.findtext("ds:X509Data/ds:X509Certificate", namespaces=NS).split())
    if base64.b64decode(carried) != certificate.public_bytes(serialization.Encoding.DER):
        print("KeyInfo: certificate is not the expected one")
        ok = False
    value = base64.b64decode("".join(signature.findtext("ds:SignatureValue", namespaces=NS).split()))
    try:
        certificate.public_key().verify(value, c14n(signed_info), padding.PKCS1v15(), hashes.SHA256())
        print("SignatureValue: ok")
    except InvalidSignature:
        print("SignatureValue: invalid")
        ok = False
    return 0 if ok else 1


def sign(unsigned, key_pem, cert_pem, out):
    root = parse(unsigned)
    app, document = parts(root)
    slot = app.find("h:Sgntr", NS)
    if slot is None or len(slot) or (slot.text or "").strip():
        raise SystemExit("AppHdr/Sgntr must be present and empty")
    with open(key_pem, "rb") as f:
        key = serialization.load_pem_private_key(f.read(), password=None)
    with open(cert_pem, "rb") as f:
        certificate = x509.load_pem_x509_certificate(f.read())

    app_digest = digest(c14n(app))
    document_digest = digest(c14n(document))

    def ds(parent, name, **attributes):
        element = etree.SubElement(parent, f"{{{DS}}}{name}")
        for k, v in attributes.items():
            element.set(k, v)
        return element

    signature = etree.Element(f"{{{DS}}}Signature", nsmap={"ds": DS})
    signed_info = ds(signature, "SignedInfo")
    ds(signed_info, "CanonicalizationMethod", Algorithm=EXC)
    ds(signed_info, "SignatureMethod", Algorithm=RSA_SHA256)
    key_id = "KI-" + uuid.uuid4().hex
    key_info = etree.Element(f"{{{DS}}}KeyInfo", nsmap={"ds": DS})
    key_info.set("Id", key_id)
    x509_data = ds(key_info, "X509Data")
    ds(x509_data, "X509Certificate").text = base64.b64encode(
        certificate.public_bytes(serialization.Encoding.DER)).decode()
    key_digest = digest(c14n(key_info))

    for uri, transforms, value in (
        ("", [ENVELOPED, EXC], app_digest),
        (None, [EXC], document_digest),
        ("#" + key_id, [EXC], key_digest),
    ):
        reference = ds(signed_info, "Reference")
        if uri is not None:
            reference.set("URI", uri)
        transforms_element = ds(reference, "Transforms")
        for algorithm in transforms:
            ds(transforms_element, "Transform", Algorithm=algorithm)
        ds(reference, "DigestMethod", Algorithm=SHA256)
        ds(reference, "DigestValue").text = value
    value = key.sign(c14n(signed_info), padding.PKCS1v15(), hashes.SHA256())
    ds(signature, "SignatureValue").text = base64.b64encode(value).decode()
    signature.append(key_info)
    slot.append(signature)
    etree.ElementTree(root).write(out, xml_declaration=True, encoding="UTF-8")
    return 0


def dump(path):
    root = parse(path)
    app, document = parts(root)
    print(base64.b64encode(c14n(app_without_signature(app))).decode())
    print(base64.b64encode(c14n(document)).decode())
    for name in ("KeyInfo", "SignedInfo"):
        for element in root.iter(f"{{{DS}}}{name}"):
            print(base64.b64encode(c14n(element)).decode())
    return 0


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    sys.exit({"verify": verify, "sign": sign, "c14n": dump}[command](*args))
