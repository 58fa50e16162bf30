//! FAPI 2.0: a registered client runs PAR (signed request object, PKCE S256) → the tenant
//! user's consent page → JARM → the token endpoint (private_key_jwt + DPoP) → a transfer with
//! the DPoP-bound token. Then the research §2 negative cases, each refused with the RFC's
//! error code and changing nothing.

use benteng_core::audit::AuditContext;
use benteng_core::currency::Currency;
use benteng_core::roles::TenantRole;
use benteng_crypto::jose::{CompactJws, EcSigningKey, sha256_b64url};
use benteng_crypto::jws::b64url;
use reqwest::StatusCode;
use serde_json::{Map, Value, json};

use crate::harness::{Backend, TestApp, client_builder, on_both_backends};
use crate::payments::{fund, quote, recipient, transfer_body};
use crate::people::{Enrolled, PASSWORD, enrol_at, next_code};

pub(crate) const REDIRECT: &str = "https://tpp.example/cb";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn jti() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A JWS with any header (for algorithms this side cannot sign with: the server must refuse
/// them before any signature check).
fn unsigned(header: &Value, claims: &Value, signature: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        b64url(header.to_string().as_bytes()),
        b64url(claims.to_string().as_bytes()),
        b64url(signature)
    )
}

fn header(pairs: &[(&str, Value)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

pub(crate) struct Tpp {
    pub(crate) id: String,
    key: EcSigningKey,
    issuer: String,
}

impl Tpp {
    /// The private key, PKCS#8 DER in base64url, for the outside client.
    pub(crate) fn pkcs8(&self) -> String {
        b64url(&self.key.to_pkcs8().unwrap())
    }

    fn jwks(&self) -> Value {
        json!({"keys": [self.key.public_jwk("tpp-1")]})
    }

    fn assertion_with(&self, aud: Value, alter: impl FnOnce(&mut Value)) -> String {
        let mut claims = json!({"iss": self.id, "sub": self.id, "aud": aud, "jti": jti(),
            "iat": now(), "exp": now() + 60});
        alter(&mut claims);
        self.key
            .sign(&header(&[("kid", "tpp-1".into())]), &claims)
            .unwrap()
    }

    fn assertion(&self) -> String {
        self.assertion_with(self.issuer.clone().into(), |_| {})
    }

    fn request_object(&self, alter: impl FnOnce(&mut Value)) -> String {
        let mut claims = json!({"iss": self.id, "aud": self.issuer, "client_id": self.id,
            "response_type": "code", "response_mode": "jwt", "redirect_uri": REDIRECT,
            "scope": "transfers:read transfers:write", "state": "st-1", "nonce": "n-1",
            "code_challenge": CHALLENGE, "code_challenge_method": "S256",
            "nbf": now(), "exp": now() + 300, "jti": jti()});
        alter(&mut claims);
        self.key
            .sign(
                &header(&[
                    ("kid", "tpp-1".into()),
                    ("typ", "oauth-authz-req+jwt".into()),
                ]),
                &claims,
            )
            .unwrap()
    }
}

/// A DPoP key.
struct Dpop(EcSigningKey);

impl Dpop {
    fn new() -> Self {
        Self(EcSigningKey::generate().unwrap())
    }

    fn public(&self) -> Value {
        let mut jwk = self.0.public_jwk("x");
        let object = jwk.as_object_mut().unwrap();
        for name in ["kid", "use", "alg"] {
            object.remove(name);
        }
        jwk
    }

    fn thumbprint(&self) -> String {
        benteng_crypto::jose::PublicJwk::from_value(&self.public())
            .unwrap()
            .thumbprint()
    }

    fn proof_with(
        &self,
        htm: &str,
        htu: &str,
        token: Option<&str>,
        alter: impl FnOnce(&mut Map<String, Value>, &mut Value),
    ) -> String {
        let mut header = header(&[("typ", "dpop+jwt".into()), ("jwk", self.public())]);
        let mut claims = json!({"jti": jti(), "htm": htm, "htu": htu, "iat": now()});
        if let Some(token) = token {
            claims["ath"] = sha256_b64url(token.as_bytes()).into();
        }
        alter(&mut header, &mut claims);
        self.0.sign(&header, &claims).unwrap()
    }

    fn proof(&self, htm: &str, htu: &str, token: Option<&str>) -> String {
        self.proof_with(htm, htu, token, |_, _| {})
    }
}

pub(crate) struct Setup {
    pub(crate) app: TestApp,
    pub(crate) tpp: Tpp,
    pub(crate) user: Enrolled,
    /// A client that does not follow redirects (the 303 goes to the TPP).
    browser: reqwest::Client,
    pub(crate) key: String,
    recovery: std::sync::Mutex<Vec<String>>,
    pub(crate) tenant: benteng_core::tenant::Tenant,
}

impl Setup {
    /// The payer's next second factor (for the outside client).
    pub(crate) fn next_second_factor(&self) -> String {
        self.second_factor()
    }
}

impl Setup {
    fn url(&self, path: &str) -> String {
        self.app.url(path)
    }

    /// A second factor not used before: the next TOTP step first, then recovery codes.
    fn second_factor(&self) -> String {
        let mut codes = self.recovery.lock().unwrap();
        match codes.pop() {
            Some(code) if code == "next-totp" => next_code(&self.user),
            Some(code) => code,
            None => panic!("out of second factors"),
        }
    }

    async fn form(&self, path: &str, fields: &[(&str, &str)], dpop: &[&str]) -> reqwest::Response {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let mut request = self
            .browser
            .post(self.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        for proof in dpop {
            request = request.header("dpop", *proof);
        }
        request.send().await.unwrap()
    }

    async fn par(&self, assertion: &str, request: &str, dpop: &[&str]) -> reqwest::Response {
        self.form(
            "/oauth2/par",
            &[
                ("client_id", &self.tpp.id),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ),
                ("client_assertion", assertion),
                ("request", request),
            ],
            dpop,
        )
        .await
    }

    async fn pushed(&self, request: &str, dpop: Option<&Dpop>) -> String {
        let proofs: Vec<String> = dpop
            .map(|d| d.proof("POST", &self.url("/oauth2/par"), None))
            .into_iter()
            .collect();
        let proofs: Vec<&str> = proofs.iter().map(String::as_str).collect();
        let response = self.par(&self.tpp.assertion(), request, &proofs).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        assert_eq!(response.headers()["cache-control"], "no-store");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["expires_in"], 90);
        body["request_uri"].as_str().unwrap().to_owned()
    }

    async fn consent_page(&self, request_uri: &str) -> (StatusCode, String) {
        let response = self
            .browser
            .get(self.url(&format!(
                "/oauth2/authorize?{}",
                query(&[("client_id", &self.tpp.id), ("request_uri", request_uri)])
            )))
            .send()
            .await
            .unwrap();
        (response.status(), response.text().await.unwrap())
    }

    async fn decide(
        &self,
        request_uri: &str,
        form_token: &str,
        decision: &str,
    ) -> reqwest::Response {
        let code = self.second_factor();
        self.form(
            "/oauth2/authorize",
            &[
                ("client_id", &self.tpp.id),
                ("request_uri", request_uri),
                ("form_token", form_token),
                ("login", &self.user.login),
                ("password", PASSWORD),
                ("code", &code),
                ("decision", decision),
            ],
            &[],
        )
        .await
    }

    /// The JARM response's claims, verified with the server's published keys.
    async fn jarm(&self, response: reqwest::Response) -> Map<String, Value> {
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        let jwt = location
            .strip_prefix(&format!("{REDIRECT}?response="))
            .unwrap_or_else(|| panic!("{location}"));
        let jwks: Value = self
            .browser
            .get(self.url("/oauth2/jwks"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let jws = CompactJws::parse(jwt).unwrap();
        assert_eq!(jws.header_str("alg"), Some("ES256"));
        jws.verify_with_set(&jwks).unwrap();
        assert_eq!(jws.claim_str("iss"), Some(self.tpp.issuer.as_str()));
        assert_eq!(jws.claim_str("aud"), Some(self.tpp.id.as_str()));
        assert!(jws.claim_i64("exp").unwrap() > now());
        jws.claims
    }

    /// PAR → consent (approved) → the code.
    async fn code(&self, request: &str, dpop: Option<&Dpop>) -> String {
        let request_uri = self.pushed(request, dpop).await;
        let (status, page) = self.consent_page(&request_uri).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let token = form_token(&page);
        let claims = self
            .jarm(self.decide(&request_uri, &token, "approve").await)
            .await;
        assert_eq!(claims["state"], "st-1");
        claims["code"].as_str().unwrap().to_owned()
    }

    async fn token_with(&self, fields: &[(&str, &str)], dpop: &[&str]) -> reqwest::Response {
        self.form("/oauth2/token", fields, dpop).await
    }

    async fn token(&self, code: &str, dpop: &Dpop) -> reqwest::Response {
        let assertion = self.tpp.assertion();
        let proof = dpop.proof("POST", &self.url("/oauth2/token"), None);
        self.token_with(
            &token_fields(&self.tpp.id, &assertion, code, VERIFIER),
            &[&proof],
        )
        .await
    }

    async fn count(&self, table: &str) -> i64 {
        use sqlx::Row;
        let mut conn = self.app.raw_sql().await;
        let sql = format!("SELECT COUNT(*) AS n FROM {table}");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_one(&mut conn)
            .await
            .unwrap()
            .get::<i64, _>("n")
    }

    async fn sql(&self, statement: &str) {
        let mut conn = self.app.raw_sql().await;
        sqlx::query(sqlx::AssertSqlSafe(statement.to_owned()))
            .execute(&mut conn)
            .await
            .unwrap();
    }
}

fn token_fields<'a>(
    client_id: &'a str,
    assertion: &'a str,
    code: &'a str,
    verifier: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("grant_type", "authorization_code"),
        ("client_id", client_id),
        (
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ),
        ("client_assertion", assertion),
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", verifier),
    ]
}

fn query(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

fn form_token(page: &str) -> String {
    let marker = "name=\"form_token\" value=\"";
    let start = page.find(marker).unwrap_or_else(|| panic!("{page}")) + marker.len();
    let end = start + page[start..].find('"').unwrap();
    page[start..end].to_owned()
}

async fn error_of(response: reqwest::Response) -> (StatusCode, String) {
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    (
        status,
        body["error"].as_str().unwrap_or_default().to_owned(),
    )
}

/// A server, a funded tenant with an API key, a payer who enrolled, and a registered TPP.
pub(crate) async fn setup(backend: Backend) -> Setup {
    setup_with(backend, None).await
}

/// [`setup`] with the server's issuer configured (`None`: its bound address).
pub(crate) async fn setup_with(backend: Backend, issuer: Option<String>) -> Setup {
    let app = TestApp::spawn_with(backend, |config| {
        config.protection.unauthenticated_per_minute = 100_000;
        config.fapi.issuer = issuer;
    })
    .await;
    let (tenant, key) = app.tenant_with_key().await;
    fund(&app, tenant.id, "1000000.00", Currency::IDR).await;
    let login = "payer@exporter.example";
    let created = app
        .services
        .operations()
        .create_tenant_user(
            tenant.id,
            &login.parse().unwrap(),
            TenantRole::Payer,
            &AuditContext::system("test"),
        )
        .await
        .unwrap();
    let user = enrol_at(
        &app.client,
        &app.url("/v1"),
        login,
        created.person.to_string(),
        benteng_crypto::ExposeSecret::expose_secret(&created.enrolment_code),
    )
    .await;
    let tpp = Tpp {
        id: "tpp-eu-1".into(),
        key: EcSigningKey::generate().unwrap(),
        issuer: format!("https://{}", app.address),
    };
    app.services
        .fapi
        .register_client(
            benteng_auth::fapi::NewClient {
                client_id: tpp.id.clone(),
                name: "EU Payments TPP".into(),
                jwks: tpp.jwks(),
                redirect_uris: vec![REDIRECT.into()],
                scopes: "transfers:read transfers:write".into(),
                profile: "fapi2".into(),
                token_auth: "private_key_jwt".into(),
                sender_constraint: "dpop".into(),
            },
            &AuditContext::system("test"),
        )
        .await
        .unwrap();
    let browser = client_builder(&app.environment().dev_certs().ca_cert)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut recovery = user.recovery_codes.clone();
    recovery.push("next-totp".into());
    Setup {
        app,
        tpp,
        user,
        browser,
        key,
        recovery: std::sync::Mutex::new(recovery),
        tenant,
    }
}

async fn a_tpp_pays_with_a_dpop_bound_token_after_the_users_consent(backend: Backend) {
    let s = setup(backend).await;
    // Discovery, both documents.
    for path in [
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
    ] {
        let meta: Value = s
            .browser
            .get(s.url(path))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(meta["issuer"], s.tpp.issuer);
        assert_eq!(meta["require_pushed_authorization_requests"], true);
        assert_eq!(meta["code_challenge_methods_supported"], json!(["S256"]));
        assert_eq!(
            meta["token_endpoint_auth_signing_alg_values_supported"],
            json!(["PS256", "ES256", "EdDSA"])
        );
    }
    let dpop = Dpop::new();
    let code = s.code(&s.tpp.request_object(|_| {}), Some(&dpop)).await;
    let response = s.token(&code, &dpop).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let issued: Value = response.json().await.unwrap();
    assert_eq!(issued["token_type"], "DPoP");
    assert_eq!(issued["expires_in"], 300);
    let token = issued["access_token"].as_str().unwrap();

    // The transfer, with the token and a proof for this request.
    let recipient = recipient(&s.app, &s.key, "DE89370400440532013000").await;
    let quote = quote(
        &s.app,
        &s.key,
        "source_currency=IDR&target_currency=EUR&source_amount=500000.00",
    )
    .await;
    let url = s.url("/v1/transfers");
    let pay = |proof: String, scheme: &str| {
        s.browser
            .post(&url)
            .header("authorization", format!("{scheme} {token}"))
            .header("dpop", proof)
            .header("x-idempotency-key", uuid::Uuid::new_v4().to_string())
            .json(&transfer_body(&quote, &recipient, "FAPI-1"))
            .send()
    };
    let created = pay(dpop.proof("POST", &url, Some(token)), "DPoP")
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let transfer: Value = created.json().await.unwrap();
    // The tenant is the consenting user's.
    let listed = s
        .app
        .get(
            &format!("/v1/transfers/{}", transfer["id"].as_str().unwrap()),
            Some(&s.key),
        )
        .await;
    assert_eq!(listed.status(), StatusCode::OK);
    // The consent lends the user's standing: once the user is disabled the token does nothing.
    let person: benteng_core::ids::PersonId = s.user.id.parse().unwrap();
    let system = benteng_core::audit::AuditContext::system("test");
    let store = &s.app.services.store;
    store
        .set_person_status(person, benteng_store::PersonStatus::Disabled, &system)
        .await
        .unwrap();
    let refused = pay(dpop.proof("POST", &url, Some(token)), "DPoP")
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    store
        .set_person_status(person, benteng_store::PersonStatus::Active, &system)
        .await
        .unwrap();
    // A tenant that requires its registered client certificate requires it of a third party's
    // token too: the consent does not lift it.
    s.app
        .services
        .store
        .set_tenant_require_mtls(
            s.tenant.id,
            true,
            &benteng_core::audit::AuditContext::system("test"),
        )
        .await
        .unwrap();
    let refused = pay(dpop.proof("POST", &url, Some(token)), "DPoP")
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let problem = refused.text().await.unwrap();
    assert!(problem.contains("client certificate"), "{problem}");
    // The audit trail names the client and its token.
    use sqlx::Row;
    let mut conn = s.app.raw_sql().await;
    let actors: Vec<String> = sqlx::query(
        "SELECT document FROM audit_events WHERE event_type = 'fapi.consent_granted' \
         OR event_type = 'fapi.token_issued' OR event_type = 'fapi.client_registered'",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap()
    .iter()
    .map(|r| r.get::<String, _>("document"))
    .collect();
    assert_eq!(actors.len(), 3, "{actors:?}");
    let metrics = s.app.get("/metrics", None).await.text().await.unwrap();
    assert!(metrics.contains("fapi_tokens_issued_total 1"), "{metrics}");
}

async fn the_resource_server_refuses_tokens_without_their_proof(backend: Backend) {
    let s = setup(backend).await;
    let dpop = Dpop::new();
    let code = s.code(&s.tpp.request_object(|_| {}), Some(&dpop)).await;
    let issued: Value = s.token(&code, &dpop).await.json().await.unwrap();
    let token = issued["access_token"].as_str().unwrap().to_owned();
    let url = s.url("/v1/transfers");
    let other = Dpop::new();
    let get = |proofs: Vec<String>, scheme: &'static str| {
        let mut request = s
            .browser
            .get(&url)
            .header("authorization", format!("{scheme} {token}"));
        for proof in proofs {
            request = request.header("dpop", proof);
        }
        request.send()
    };
    // Scheme names are case-insensitive: a good request works in any case.
    let ok = get(vec![dpop.proof("GET", &url, Some(&token))], "dpop")
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let cases: Vec<(&str, Vec<String>, &str, &str)> = vec![
        ("no proof", vec![], "DPoP", "invalid_dpop_proof"),
        (
            "two proofs",
            vec![
                dpop.proof("GET", &url, Some(&token)),
                dpop.proof("GET", &url, Some(&token)),
            ],
            "DPoP",
            "invalid_dpop_proof",
        ),
        (
            "wrong htm",
            vec![dpop.proof("POST", &url, Some(&token))],
            "DPoP",
            "invalid_dpop_proof",
        ),
        (
            "wrong htu",
            vec![dpop.proof("GET", &s.url("/v1/balances"), Some(&token))],
            "DPoP",
            "invalid_dpop_proof",
        ),
        (
            "wrong ath",
            vec![dpop.proof("GET", &url, Some("bt_at_other"))],
            "DPoP",
            "invalid_dpop_proof",
        ),
        (
            "no ath",
            vec![dpop.proof("GET", &url, None)],
            "DPoP",
            "invalid_dpop_proof",
        ),
        (
            "another key",
            vec![other.proof("GET", &url, Some(&token))],
            "DPoP",
            "invalid_dpop_proof",
        ),
        (
            "wrong typ",
            vec![dpop.proof_with("GET", &url, Some(&token), |h, _| {
                h.insert("typ".into(), "JWT".into());
            })],
            "DPoP",
            "invalid_dpop_proof",
        ),
        (
            "iat an hour old",
            vec![dpop.proof_with("GET", &url, Some(&token), |_, c| {
                c["iat"] = (now() - 3600).into();
            })],
            "DPoP",
            "invalid_dpop_proof",
        ),
    ];
    for (what, proofs, scheme, error) in cases {
        let response = get(proofs, scheme).await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{what}");
        let challenge = response.headers()["www-authenticate"].to_str().unwrap();
        assert!(
            challenge.starts_with("DPoP ") && challenge.contains(&format!("error=\"{error}\"")),
            "{what}: {challenge}"
        );
    }
    // Clock skew: a proof 8 s ahead or 50 s old is accepted, 70 s ahead is not.
    for (offset, expected) in [
        (8, StatusCode::OK),
        (-50, StatusCode::OK),
        (70, StatusCode::UNAUTHORIZED),
    ] {
        let proof = dpop.proof_with("GET", &url, Some(&token), |_, c| {
            c["iat"] = (now() + offset).into();
        });
        assert_eq!(
            get(vec![proof], "DPoP").await.unwrap().status(),
            expected,
            "iat {offset:+}"
        );
    }
    // A replayed proof.
    let proof = dpop.proof("GET", &url, Some(&token));
    assert_eq!(
        get(vec![proof.clone()], "DPoP").await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(
        get(vec![proof], "DPoP").await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    // Downgraded to Bearer: refused.
    let bearer = get(vec![dpop.proof("GET", &url, Some(&token))], "Bearer")
        .await
        .unwrap();
    assert_eq!(bearer.status(), StatusCode::UNAUTHORIZED);
    // A scope the consent did not give (balances:read).
    let balances = s.url("/v1/balances");
    let response = s
        .browser
        .get(&balances)
        .header("authorization", format!("DPoP {token}"))
        .header("dpop", dpop.proof("GET", &balances, Some(&token)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(
        response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("insufficient_scope")
    );
    // The token in the query string is not a credential.
    let query = s
        .browser
        .get(format!("{url}?access_token={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(query.status(), StatusCode::UNAUTHORIZED);
    // A reused code revokes what it issued.
    let again = s.token(&code, &dpop).await;
    assert_eq!(
        error_of(again).await,
        (StatusCode::BAD_REQUEST, "invalid_grant".into())
    );
    let revoked = get(vec![dpop.proof("GET", &url, Some(&token))], "DPoP")
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::UNAUTHORIZED);
}

async fn par_refuses_what_fapi_forbids_and_stores_nothing(backend: Backend) {
    let s = setup(backend).await;
    let issuer = s.tpp.issuer.clone();
    let good = s.tpp.request_object(|_| {});
    let rs256 =
        |claims: Value| unsigned(&json!({"alg": "RS256", "kid": "tpp-1"}), &claims, &[7; 256]);
    let none = |claims: Value| unsigned(&json!({"alg": "none"}), &claims, &[]);
    let base_assertion = json!({"iss": s.tpp.id, "sub": s.tpp.id, "aud": issuer, "jti": "x",
        "iat": now(), "exp": now() + 60});
    let replayed = s.tpp.assertion();
    assert_eq!(
        s.par(&replayed, &good, &[]).await.status(),
        StatusCode::CREATED
    );
    // An assertion with iat and nbf 8 s ahead is accepted (clock skew).
    let ahead = s.tpp.assertion_with(issuer.clone().into(), |c| {
        c["iat"] = (now() + 8).into();
        c["nbf"] = (now() + 8).into();
    });
    assert_eq!(
        s.par(&ahead, &good, &[]).await.status(),
        StatusCode::CREATED
    );
    let before = s.count("fapi_requests").await;
    let assertion_cases: Vec<(&str, String)> = vec![
        (
            "aud = the PAR endpoint",
            s.tpp
                .assertion_with(format!("{issuer}/oauth2/par").into(), |_| {}),
        ),
        (
            "aud = the token endpoint",
            s.tpp
                .assertion_with(format!("{issuer}/oauth2/token").into(), |_| {}),
        ),
        (
            "aud as an array",
            s.tpp.assertion_with(json!([issuer]), |_| {}),
        ),
        ("RS256", rs256(base_assertion.clone())),
        ("none", none(base_assertion.clone())),
        ("replayed jti", replayed),
        (
            "expired",
            s.tpp
                .assertion_with(issuer.clone().into(), |c| c["exp"] = (now() - 5).into()),
        ),
        (
            "iat 70 s ahead",
            s.tpp
                .assertion_with(issuer.clone().into(), |c| c["iat"] = (now() + 70).into()),
        ),
        (
            "another client's iss",
            s.tpp.assertion_with(issuer.clone().into(), |c| {
                c["iss"] = "someone".into();
                c["sub"] = "someone".into();
            }),
        ),
    ];
    for (what, assertion) in assertion_cases {
        let (status, error) = error_of(s.par(&assertion, &good, &[]).await).await;
        assert_eq!(
            (status, error.as_str()),
            (StatusCode::UNAUTHORIZED, "invalid_client"),
            "{what}"
        );
    }
    let request_cases: Vec<(&str, String, &str)> = vec![
        (
            "RS256 request object",
            rs256(json!({"iss": s.tpp.id, "aud": issuer})),
            "invalid_request_object",
        ),
        (
            "unsigned request object",
            none(json!({"iss": s.tpp.id})),
            "invalid_request_object",
        ),
        (
            "aud not the issuer",
            s.tpp
                .request_object(|c| c["aud"] = "https://elsewhere.example".into()),
            "invalid_request_object",
        ),
        (
            "exp − nbf over 60 min",
            s.tpp.request_object(|c| c["exp"] = (now() + 3700).into()),
            "invalid_request_object",
        ),
        (
            "nbf over 60 min old",
            s.tpp.request_object(|c| c["nbf"] = (now() - 3700).into()),
            "invalid_request_object",
        ),
        (
            "no nbf",
            s.tpp.request_object(|c| {
                c.as_object_mut().unwrap().remove("nbf");
            }),
            "invalid_request_object",
        ),
        (
            "no exp",
            s.tpp.request_object(|c| {
                c.as_object_mut().unwrap().remove("exp");
            }),
            "invalid_request_object",
        ),
        (
            "no PKCE",
            s.tpp.request_object(|c| {
                let c = c.as_object_mut().unwrap();
                c.remove("code_challenge");
                c.remove("code_challenge_method");
            }),
            "invalid_request",
        ),
        (
            "plain PKCE",
            s.tpp.request_object(|c| {
                c["code_challenge"] = VERIFIER.into();
                c["code_challenge_method"] = "plain".into();
            }),
            "invalid_request",
        ),
        (
            "http redirect URI",
            s.tpp
                .request_object(|c| c["redirect_uri"] = "http://tpp.example/cb".into()),
            "invalid_request",
        ),
        (
            "unregistered redirect URI",
            s.tpp
                .request_object(|c| c["redirect_uri"] = "https://tpp.example/other".into()),
            "invalid_request",
        ),
        (
            "response_type token",
            s.tpp
                .request_object(|c| c["response_type"] = "token".into()),
            "unsupported_response_type",
        ),
        (
            "a scope not registered",
            s.tpp
                .request_object(|c| c["scope"] = "balances:read".into()),
            "invalid_scope",
        ),
    ];
    for (what, request, code) in request_cases {
        let (status, error) = error_of(s.par(&s.tpp.assertion(), &request, &[]).await).await;
        assert_eq!(
            (status, error.as_str()),
            (StatusCode::BAD_REQUEST, code),
            "{what}"
        );
    }
    // No request object at all (an unsigned PAR), a request_uri inside PAR, a repeated parameter.
    let assertion = s.tpp.assertion();
    let plain = s
        .form(
            "/oauth2/par",
            &[
                ("client_id", &s.tpp.id),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ),
                ("client_assertion", &assertion),
                ("response_type", "code"),
                ("redirect_uri", REDIRECT),
            ],
            &[],
        )
        .await;
    assert_eq!(
        error_of(plain).await,
        (StatusCode::BAD_REQUEST, "invalid_request".into())
    );
    let nested = s
        .form(
            "/oauth2/par",
            &[
                ("client_id", &s.tpp.id),
                ("request_uri", "urn:x"),
                ("request", &good),
            ],
            &[],
        )
        .await;
    assert_eq!(
        error_of(nested).await,
        (StatusCode::BAD_REQUEST, "invalid_request".into())
    );
    let twice = s
        .form(
            "/oauth2/par",
            &[("request", &good), ("request", &good)],
            &[],
        )
        .await;
    assert_eq!(
        error_of(twice).await,
        (StatusCode::BAD_REQUEST, "invalid_request".into())
    );
    // A dpop_jkt that is not the proof's key.
    let dpop = Dpop::new();
    let proof = dpop.proof("POST", &s.url("/oauth2/par"), None);
    let mismatched = s
        .tpp
        .request_object(|c| c["dpop_jkt"] = Dpop::new().thumbprint().into());
    let response = s.par(&s.tpp.assertion(), &mismatched, &[&proof]).await;
    assert_eq!(
        error_of(response).await,
        (StatusCode::BAD_REQUEST, "invalid_request".into())
    );
    assert_eq!(
        s.count("fapi_requests").await,
        before,
        "a refusal stored a request"
    );
}

async fn request_uris_and_codes_are_single_use_short_lived_and_bound(backend: Backend) {
    let s = setup(backend).await;
    let dpop = Dpop::new();
    // The authorization endpoint takes only client_id and request_uri.
    let request_uri = s.pushed(&s.tpp.request_object(|_| {}), Some(&dpop)).await;
    let extra = s
        .browser
        .get(s.url(&format!(
            "/oauth2/authorize?{}",
            query(&[
                ("client_id", &s.tpp.id),
                ("request_uri", &request_uri),
                ("scope", "x")
            ])
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(extra.status(), StatusCode::BAD_REQUEST);
    // Another client's request_uri is not this one's.
    let foreign = s
        .browser
        .get(s.url(&format!(
            "/oauth2/authorize?{}",
            query(&[("client_id", "someone-else"), ("request_uri", &request_uri)])
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), StatusCode::BAD_REQUEST);
    // A forged form token is refused and uses nothing up.
    let forged = s.decide(&request_uri, "forged", "approve").await;
    assert_eq!(forged.status(), StatusCode::BAD_REQUEST);
    assert_eq!(s.count("fapi_codes").await, 0);
    // A wrong password shows the page again and uses nothing up.
    let (_, page) = s.consent_page(&request_uri).await;
    let token = form_token(&page);
    let wrong = s
        .form(
            "/oauth2/authorize",
            &[
                ("client_id", &s.tpp.id),
                ("request_uri", &request_uri),
                ("form_token", &token),
                ("login", &s.user.login),
                ("password", "not the password at all"),
                ("code", "000000"),
                ("decision", "approve"),
            ],
            &[],
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(s.count("fapi_codes").await, 0);
    // Denied: the client learns access_denied; the request_uri is spent.
    let denied = s.jarm(s.decide(&request_uri, &token, "deny").await).await;
    assert_eq!(denied["error"], "access_denied");
    assert!(denied.get("code").is_none());
    let (status, _) = s.consent_page(&request_uri).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a used request_uri");
    assert_eq!(s.count("fapi_codes").await, 0);

    // An expired request_uri (its 90 s moved into the past).
    let stale = s.pushed(&s.tpp.request_object(|_| {}), Some(&dpop)).await;
    let (_, page) = s.consent_page(&stale).await;
    let token = form_token(&page);
    s.sql("UPDATE fapi_requests SET expires_at = created_at + 1 WHERE used_at IS NULL")
        .await;
    let expired = s.decide(&stale, &token, "approve").await;
    assert_eq!(expired.status(), StatusCode::BAD_REQUEST);
    assert_eq!(s.count("fapi_codes").await, 0);

    // Token endpoint refusals: nothing issued, the code still good afterwards.
    let code = s.code(&s.tpp.request_object(|_| {}), Some(&dpop)).await;
    let token_url = s.url("/oauth2/token");
    let proof = |alter: fn(&mut Map<String, Value>, &mut Value)| {
        dpop.proof_with("POST", &token_url, None, alter)
    };
    let assertion = || s.tpp.assertion();
    let cases: Vec<(&str, Vec<String>, String, &str, StatusCode)> = vec![
        (
            "no proof",
            vec![],
            assertion(),
            "invalid_dpop_proof",
            StatusCode::BAD_REQUEST,
        ),
        (
            "htm GET",
            vec![dpop.proof("GET", &token_url, None)],
            assertion(),
            "invalid_dpop_proof",
            StatusCode::BAD_REQUEST,
        ),
        (
            "htu of PAR",
            vec![dpop.proof("POST", &s.url("/oauth2/par"), None)],
            assertion(),
            "invalid_dpop_proof",
            StatusCode::BAD_REQUEST,
        ),
        (
            "typ JWT",
            vec![proof(|h, _| {
                h.insert("typ".into(), "JWT".into());
            })],
            assertion(),
            "invalid_dpop_proof",
            StatusCode::BAD_REQUEST,
        ),
        (
            "private key in jwk",
            vec![proof(|h, _| {
                h.get_mut("jwk").unwrap()["d"] = "AAAA".into();
            })],
            assertion(),
            "invalid_dpop_proof",
            StatusCode::BAD_REQUEST,
        ),
        (
            "no jti",
            vec![proof(|_, c| {
                c.as_object_mut().unwrap().remove("jti");
            })],
            assertion(),
            "invalid_dpop_proof",
            StatusCode::BAD_REQUEST,
        ),
        (
            "RS256 proof",
            vec![unsigned(
                &json!({"alg": "RS256", "typ": "dpop+jwt", "jwk": dpop.public()}),
                &json!({"jti": jti(), "htm": "POST", "htu": token_url, "iat": now()}),
                &[1; 256],
            )],
            assertion(),
            "invalid_dpop_proof",
            StatusCode::BAD_REQUEST,
        ),
        (
            "another DPoP key than the code's",
            vec![Dpop::new().proof("POST", &token_url, None)],
            assertion(),
            "invalid_grant",
            StatusCode::BAD_REQUEST,
        ),
        (
            "wrong aud",
            vec![dpop.proof("POST", &token_url, None)],
            s.tpp.assertion_with(token_url.clone().into(), |_| {}),
            "invalid_client",
            StatusCode::UNAUTHORIZED,
        ),
    ];
    for (what, proofs, assertion, error, status) in cases {
        let proofs: Vec<&str> = proofs.iter().map(String::as_str).collect();
        let response = s
            .token_with(
                &token_fields(&s.tpp.id, &assertion, &code, VERIFIER),
                &proofs,
            )
            .await;
        assert_eq!(error_of(response).await, (status, error.into()), "{what}");
    }
    // A wrong PKCE verifier (the proof passes, and is spent), then that proof replayed.
    let wrong_verifier = "x".repeat(43);
    let proof = dpop.proof("POST", &token_url, None);
    let response = s
        .token_with(
            &token_fields(&s.tpp.id, &s.tpp.assertion(), &code, &wrong_verifier),
            &[&proof],
        )
        .await;
    assert_eq!(
        error_of(response).await,
        (StatusCode::BAD_REQUEST, "invalid_grant".into())
    );
    let replay = s
        .token_with(
            &token_fields(&s.tpp.id, &s.tpp.assertion(), &code, VERIFIER),
            &[&proof],
        )
        .await;
    assert_eq!(
        error_of(replay).await,
        (StatusCode::BAD_REQUEST, "invalid_dpop_proof".into())
    );
    assert_eq!(s.count("fapi_tokens").await, 0, "a refusal issued a token");
    // The code still works once, then never again.
    assert_eq!(s.token(&code, &dpop).await.status(), StatusCode::OK);
    let reused = s.token(&code, &dpop).await;
    assert_eq!(
        error_of(reused).await,
        (StatusCode::BAD_REQUEST, "invalid_grant".into())
    );
    // A code past its 60 s.
    let late = s.code(&s.tpp.request_object(|_| {}), Some(&dpop)).await;
    s.sql("UPDATE fapi_codes SET expires_at = created_at + 1 WHERE used_at IS NULL")
        .await;
    let response = s.token(&late, &dpop).await;
    assert_eq!(
        error_of(response).await,
        (StatusCode::BAD_REQUEST, "invalid_grant".into())
    );
    assert_eq!(s.count("fapi_tokens").await, 1);
}

async fn a_client_revokes_its_token_and_only_its_own(backend: Backend) {
    let s = setup(backend).await;
    let dpop = Dpop::new();
    let code = s.code(&s.tpp.request_object(|_| {}), Some(&dpop)).await;
    let issued: Value = s.token(&code, &dpop).await.json().await.unwrap();
    let token = issued["access_token"].as_str().unwrap().to_owned();
    let url = s.url("/v1/transfers");
    let use_token = || {
        s.browser
            .get(&url)
            .header("authorization", format!("DPoP {token}"))
            .header("dpop", dpop.proof("GET", &url, Some(&token)))
            .send()
    };
    assert_eq!(use_token().await.unwrap().status(), StatusCode::OK);
    let s = &s;
    let revoke = |assertion: String, token: String| async move {
        s.form(
            "/oauth2/revoke",
            &[
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ),
                ("client_assertion", &assertion),
                ("token", &token),
            ],
            &[],
        )
        .await
    };
    // Without client authentication: refused, the token still works.
    let anonymous = revoke("not-a-jwt".into(), token.clone()).await;
    assert_eq!(
        error_of(anonymous).await,
        (StatusCode::UNAUTHORIZED, "invalid_client".into())
    );
    // Another client (registered, authenticated) cannot revoke it; the answer tells nothing.
    let key = EcSigningKey::generate().unwrap();
    s.app
        .services
        .fapi
        .register_client(
            benteng_auth::fapi::NewClient {
                client_id: "tpp-other".into(),
                name: "Other".into(),
                jwks: json!({"keys": [key.public_jwk("o1")]}),
                redirect_uris: vec![REDIRECT.into()],
                scopes: "transfers:read".into(),
                profile: "fapi2".into(),
                token_auth: "private_key_jwt".into(),
                sender_constraint: "dpop".into(),
            },
            &AuditContext::system("test"),
        )
        .await
        .unwrap();
    let other = Tpp {
        id: "tpp-other".into(),
        key,
        issuer: s.tpp.issuer.clone(),
    };
    let foreign = other.key.sign(
        &header(&[("kid", "o1".into())]),
        &json!({"iss": other.id, "sub": other.id, "aud": other.issuer, "jti": jti(),
            "iat": now(), "exp": now() + 60}),
    );
    let foreign = revoke(foreign.unwrap(), token.clone()).await;
    assert_eq!(foreign.status(), StatusCode::OK);
    assert_eq!(use_token().await.unwrap().status(), StatusCode::OK);
    // Its own client revokes it: refused from then on; an unknown token answers the same 200.
    assert_eq!(
        revoke(s.tpp.assertion(), token.clone()).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        use_token().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        revoke(s.tpp.assertion(), "bt_at_unknown".into())
            .await
            .status(),
        StatusCode::OK
    );
}

async fn operators_register_clients_with_public_keys_and_https_redirects(backend: Backend) {
    let s = setup(backend).await;
    let fapi = &s.app.services.fapi;
    let context = AuditContext::system("test");
    let key = EcSigningKey::generate().unwrap();
    let new = |alter: fn(&mut benteng_auth::fapi::NewClient)| {
        let mut client = benteng_auth::fapi::NewClient {
            client_id: "tpp-two".into(),
            name: "Second".into(),
            jwks: json!({"keys": [key.public_jwk("k")]}),
            redirect_uris: vec![REDIRECT.into()],
            scopes: "transfers:read".into(),
            profile: "fapi2".into(),
            token_auth: "private_key_jwt".into(),
            sender_constraint: "dpop".into(),
        };
        alter(&mut client);
        client
    };
    let refused: Vec<(&str, benteng_auth::fapi::NewClient)> = vec![
        (
            "http redirect",
            new(|c| c.redirect_uris = vec!["http://tpp.example/cb".into()]),
        ),
        (
            "private key",
            new(|c| c.jwks["keys"][0]["d"] = "AAAA".into()),
        ),
        (
            "RS256 key",
            new(|c| c.jwks["keys"][0]["alg"] = "RS256".into()),
        ),
        ("unknown scope", new(|c| c.scopes = "everything".into())),
        (
            "mtls (not yet)",
            new(|c| c.sender_constraint = "mtls".into()),
        ),
        ("taken id", new(|c| c.client_id = "tpp-eu-1".into())),
    ];
    for (what, client) in refused {
        assert!(
            fapi.register_client(client, &context).await.is_err(),
            "{what}"
        );
    }
    assert_eq!(s.count("fapi_clients").await, 1);
    fapi.register_client(new(|_| {}), &context).await.unwrap();
    assert_eq!(s.count("fapi_clients").await, 2);
    // Disabling a client stops its tokens at once.
    let dpop = Dpop::new();
    let code = s.code(&s.tpp.request_object(|_| {}), Some(&dpop)).await;
    let issued: Value = s.token(&code, &dpop).await.json().await.unwrap();
    let token = issued["access_token"].as_str().unwrap();
    fapi.set_client_status(&s.tpp.id, false, &context)
        .await
        .unwrap();
    let url = s.url("/v1/transfers");
    let response = s
        .browser
        .get(&url)
        .header("authorization", format!("DPoP {token}"))
        .header("dpop", dpop.proof("GET", &url, Some(token)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

on_both_backends!(
    a_tpp_pays_with_a_dpop_bound_token_after_the_users_consent,
    the_resource_server_refuses_tokens_without_their_proof,
    par_refuses_what_fapi_forbids_and_stores_nothing,
    request_uris_and_codes_are_single_use_short_lived_and_bound,
    operators_register_clients_with_public_keys_and_https_redirects,
    a_client_revokes_its_token_and_only_its_own,
    a_refused_client_learns_nothing_and_is_counted_like_any_refused_credential,
);

/// An unknown client and a registered one with the wrong key get the same answer (nobody
/// learns who is registered), and refused client authentications are audited and reach the
/// incident detections: the 25th in 5 minutes from one address opens a P4, the 24th does not.
async fn a_refused_client_learns_nothing_and_is_counted_like_any_refused_credential(
    backend: Backend,
) {
    let s = setup(backend).await;
    let good = s.tpp.request_object(|_| {});
    let impostor = Tpp {
        id: s.tpp.id.clone(),
        key: EcSigningKey::generate().unwrap(),
        issuer: s.tpp.issuer.clone(),
    };
    let stranger = Tpp {
        id: "tpp-nobody".into(),
        key: EcSigningKey::generate().unwrap(),
        issuer: s.tpp.issuer.clone(),
    };
    // PAR as each would send it, naming itself.
    let par_as = async |tpp: &Tpp| {
        s.form(
            "/oauth2/par",
            &[
                ("client_id", &tpp.id),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ),
                ("client_assertion", &tpp.assertion()),
                ("request", &good),
            ],
            &[],
        )
        .await
    };
    let mut answers = Vec::new();
    for tpp in [&impostor, &stranger] {
        let response = par_as(tpp).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "invalid_client");
        answers.push(body["error_description"].clone());
    }
    assert_eq!(answers[0], answers[1], "the answers tell the clients apart");

    for _ in 0..22 {
        let response = par_as(&stranger).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let incidents = async || s.app.services.store.incidents(10).await.unwrap();
    assert!(incidents().await.is_empty(), "24 refusals stay under");
    let response = par_as(&impostor).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let opened = incidents().await;
    assert_eq!(opened.len(), 1, "{opened:?}");
    assert_eq!(opened[0].severity.to_string(), "P4");
    assert_eq!(opened[0].client_address.as_deref(), Some("127.0.0.1"));

    let documents = s
        .app
        .services
        .store
        .audit_documents(None, None, 0, i64::MAX, None, 10_000)
        .await
        .unwrap();
    let refusals = documents
        .items
        .iter()
        .map(|document| serde_json::from_str::<Value>(document).unwrap())
        .filter(|e| e["event_type"] == "auth.failed" && e["resource"]["id"] == "fapi_client")
        .inspect(|e| assert_eq!(e["actor"]["ip"], "127.0.0.1", "{e}"))
        .count();
    assert_eq!(refusals, 25);

    // The consent page's own policies: it loads nothing, posts only here, is never framed,
    // and its address (with the request_uri) is never sent on as a referrer.
    let request_uri = s.pushed(&s.tpp.request_object(|_| {}), None).await;
    let page = s
        .browser
        .get(s.url(&format!(
            "/oauth2/authorize?{}",
            query(&[("client_id", &s.tpp.id), ("request_uri", &request_uri)])
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(
        page.headers()["content-security-policy"],
        "default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    );
    assert_eq!(page.headers()["referrer-policy"], "no-referrer");
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    // Every other answer keeps the defaults.
    let other = s.app.get("/v1/tenant", None).await;
    assert_eq!(
        other.headers()["content-security-policy"],
        "default-src 'self'"
    );
    assert_eq!(
        other.headers()["referrer-policy"],
        "strict-origin-when-cross-origin"
    );
}

async fn the_operator_api_and_the_cli_register_clients(backend: Backend) {
    use benteng_core::roles::StaffRole;
    let s = setup(backend).await;
    let admin = crate::people::enrol(&s.app, "adi@benteng.example", &[StaffRole::Admin]).await;
    let support = crate::people::enrol(&s.app, "sam@benteng.example", &[StaffRole::Support]).await;
    let admin = crate::people::sign_in(&s.app, &admin).await;
    let support = crate::people::sign_in(&s.app, &support).await;
    let key = EcSigningKey::generate().unwrap();
    let body = json!({"client_id": "tpp-api", "name": "Via the API",
        "jwks": {"keys": [key.public_jwk("k1")]}, "redirect_uris": [REDIRECT],
        "scopes": "transfers:read"});
    let url = s.url("/admin/v1/fapi/clients");
    // Support reads tenants but may not register clients.
    let refused = crate::people::post(&s.app.client, url.clone(), &support, &body).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let mut http = body.clone();
    http["redirect_uris"] = json!(["http://tpp.example/cb"]);
    let invalid = crate::people::post(&s.app.client, url.clone(), &admin, &http).await;
    assert_eq!(invalid.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let created = crate::people::post(&s.app.client, url.clone(), &admin, &body).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let again = crate::people::post(&s.app.client, url.clone(), &admin, &body).await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    let listed: Value = crate::people::get(&s.app.client, url.clone(), &support)
        .await
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["client_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["tpp-api", "tpp-eu-1"]);
    let disable = crate::people::post(
        &s.app.client,
        s.url("/admin/v1/fapi/clients/tpp-api/disable"),
        &admin,
        &json!({}),
    )
    .await;
    assert_eq!(disable.status(), StatusCode::NO_CONTENT);
    use sqlx::Row;
    let mut conn = s.app.raw_sql().await;
    let events: Vec<String> = sqlx::query(
        "SELECT event_type FROM audit_events WHERE event_type LIKE 'fapi.client%' \
         ORDER BY occurred_at",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap()
    .iter()
    .map(|r| r.get::<String, _>("event_type"))
    .collect();
    assert_eq!(
        events,
        [
            "fapi.client_registered",
            "fapi.client_registered",
            "fapi.client_status_changed"
        ]
    );

    // The CLI, on the same environment.
    let env = s.app.environment();
    let jwks = env.data_dir.path().join("tpp-cli.jwks.json");
    std::fs::write(&jwks, json!({"keys": [key.public_jwk("k9")]}).to_string()).unwrap();
    let jwks = jwks.to_str().unwrap();
    let args = |redirect: &'static str| {
        vec![
            "fapi",
            "client",
            "add",
            "--id",
            "tpp-cli",
            "--name",
            "Via the CLI",
            "--jwks",
            jwks,
            "--redirect-uri",
            redirect,
            "--scopes",
            "transfers:read",
        ]
    };
    let (ok, _, err) = crate::harness::cli(env, &args("http://tpp.example/cb")).await;
    assert!(!ok && err.contains("https"), "{err}");
    let (ok, out, err) = crate::harness::cli(env, &args(REDIRECT)).await;
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "tpp-cli");
    let (ok, out, _) = crate::harness::cli(env, &["fapi", "client", "list"]).await;
    assert!(
        ok && out.contains("tpp-cli") && out.contains("tpp-api"),
        "{out}"
    );
    let (ok, out, err) = crate::harness::cli(env, &["keys", "status"]).await;
    assert!(ok, "{err}");
    assert!(
        out.contains("fapi") && out.contains("signing JARM responses"),
        "{out}"
    );
}

on_both_backends!(the_operator_api_and_the_cli_register_clients);

/// The DPoP `jti` cache is the shared state's: a proof accepted by one instance is refused by
/// another (PostgreSQL + Redis, as a deployment runs), which also accepts the token itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proof_replayed_on_another_instance_is_refused() {
    let s = setup(Backend::Postgres).await;
    let dpop = Dpop::new();
    let code = s.code(&s.tpp.request_object(|_| {}), Some(&dpop)).await;
    let issued: Value = s.token(&code, &dpop).await.json().await.unwrap();
    let token = issued["access_token"].as_str().unwrap().to_owned();
    // The second instance has the same issuer (a deployment configures one).
    let issuer = format!("https://{}", s.app.address);
    let other = crate::harness::Process::serve_with(
        s.app.environment(),
        &[("BENTENG_FAPI__ISSUER", issuer.as_str())],
    )
    .await;
    let url = s.url("/v1/transfers");
    let send = |base: String, proof: String| {
        s.browser
            .get(base)
            .header("authorization", format!("DPoP {token}"))
            .header("dpop", proof)
            .send()
    };
    let proof = dpop.proof("GET", &url, Some(&token));
    let first = send(url.clone(), proof.clone()).await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    let replayed = send(other.url("/v1/transfers"), proof).await.unwrap();
    assert_eq!(replayed.status(), StatusCode::UNAUTHORIZED);
    assert!(
        replayed.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_dpop_proof")
    );
    let fresh = send(
        other.url("/v1/transfers"),
        dpop.proof("GET", &url, Some(&token)),
    )
    .await
    .unwrap();
    assert_eq!(fresh.status(), StatusCode::OK);
}
