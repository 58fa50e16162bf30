//! Writes seed inputs for the `jose` target: a DPoP proof (ES256, key in the header), a client
//! assertion with its JWK Set (PS256), and a webhook JWS with the receiver's key (RS256).
//!
//! `cargo run --example jose_seeds -- OUT_DIR`

use benteng_crypto::jose::EcSigningKey;
use benteng_crypto::jws::{JwsAlg, RsaSigningKey};
use serde_json::{Map, Value, json};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args().nth(1).ok_or("usage: jose_seeds OUT_DIR")?;
    std::fs::create_dir_all(&out)?;
    let iat = 1_796_000_000_i64;

    let ec = EcSigningKey::generate()?;
    let mut header = Map::new();
    header.insert("typ".into(), "dpop+jwt".into());
    let mut jwk = ec.public_jwk("k1");
    if let Some(object) = jwk.as_object_mut() {
        object.remove("kid");
        object.remove("use");
    }
    header.insert("jwk".into(), jwk);
    let proof = ec.sign(
        &header,
        &json!({"jti": "e1j3V_bKic8-LAEB", "htm": "POST",
                "htu": "https://as.example/oauth2/token", "iat": iat}),
    )?;
    std::fs::write(format!("{out}/dpop-proof"), proof)?;

    let rsa = RsaSigningKey::generate()?;
    let claims = json!({"iss": "client-1", "sub": "client-1", "aud": "https://as.example",
                        "exp": iat + 300, "jti": "a-1"});
    let assertion = rsa.sign_compact(JwsAlg::Ps256, "c1", iat, claims.to_string().as_bytes())?;
    let jwks = json!({"keys": [rsa.public_jwk("c1", JwsAlg::Ps256)]});
    std::fs::write(
        format!("{out}/client-assertion"),
        format!("{assertion}\n{jwks}"),
    )?;

    let webhook = rsa.sign_compact(JwsAlg::Rs256, "w1", iat, br#"{"type":"transfer.settled"}"#)?;
    let keys: Value = json!({"keys": [rsa.public_jwk("w1", JwsAlg::Rs256)]});
    std::fs::write(format!("{out}/webhook-jws"), format!("{webhook}\n{keys}"))?;
    Ok(())
}
