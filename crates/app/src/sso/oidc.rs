//! The OpenID Connect protocol as a relying party speaks it: discovery of a provider's
//! endpoints, PKCE, the authorization request, exchanging the code for tokens and checking the
//! ID token (signature against the provider's published keys, issuer, audience, expiry, nonce).
//! Requests go out through [`crate::egress`], so a provider address cannot be aimed at the
//! server's own network unless the instance allows it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use url::Url;

use crate::egress;

/// How long a provider's discovery document and keys are kept before they are asked again.
const CACHE_FOR: Duration = Duration::from_secs(600);
/// How long a provider has to answer.
const TIMEOUT: Duration = Duration::from_secs(10);

/// What the provider publishes at `{issuer}/.well-known/openid-configuration`.
#[derive(Clone, Debug)]
pub struct Provider {
    pub issuer: String,
    pub authorization_endpoint: Url,
    pub token_endpoint: Url,
    pub jwks_uri: Url,
}

/// What the ID token says of the person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Person {
    pub subject: String,
    pub email: Option<String>,
    /// `None` when the provider does not say.
    pub email_verified: Option<bool>,
    pub name: Option<String>,
}

/// Talks to providers, remembering their documents and keys for a while.
pub struct Client {
    allow_private: bool,
    providers: Mutex<HashMap<String, (Instant, Arc<Provider>)>>,
    keys: Mutex<HashMap<String, (Instant, Arc<JwkSet>)>>,
}

/// Checks the form of an issuer address: https (or http where private providers are allowed),
/// a host, no query, fragment or credentials.
pub fn check_issuer(raw: &str, allow_private: bool) -> Result<Url, String> {
    let url = egress::check_url(raw).map_err(|m| format!("the issuer {m}"))?;
    if url.scheme() != "https" && !allow_private {
        return Err("the issuer must start with https://".into());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("the issuer must not have a query or a fragment".into());
    }
    Ok(url)
}

impl Client {
    pub fn new(allow_private: bool) -> Client {
        Client {
            allow_private,
            providers: Mutex::new(HashMap::new()),
            keys: Mutex::new(HashMap::new()),
        }
    }

    fn endpoint(&self, value: &Value, name: &str) -> Result<Url, String> {
        let raw = value
            .get(name)
            .and_then(Value::as_str)
            .ok_or_else(|| format!("the provider's discovery document has no {name}"))?;
        let url = Url::parse(raw).map_err(|_| format!("the provider's {name} is not a URL"))?;
        if url.scheme() != "https" && !(self.allow_private && url.scheme() == "http") {
            return Err(format!("the provider's {name} is not an https address"));
        }
        Ok(url)
    }

    /// The provider at `issuer`, from its discovery document; the document must name the same
    /// issuer, as OpenID Connect Discovery requires.
    pub async fn discover(&self, issuer: &str, fresh: bool) -> Result<Arc<Provider>, String> {
        if !fresh
            && let Some((at, found)) = self.lock_providers().get(issuer)
            && at.elapsed() < CACHE_FOR
        {
            return Ok(found.clone());
        }
        let base = check_issuer(issuer, self.allow_private)?;
        let address = format!(
            "{}/.well-known/openid-configuration",
            base.as_str().trim_end_matches('/')
        );
        let url = Url::parse(&address).map_err(|e| e.to_string())?;
        let document = egress::json(&url, None, TIMEOUT, self.allow_private)
            .await
            .map_err(|e| format!("could not read the provider's discovery document: {e}"))?;
        let said = document
            .get("issuer")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if said.trim_end_matches('/') != issuer.trim_end_matches('/') {
            return Err(format!(
                "the provider calls itself \"{said}\", not \"{issuer}\"; use the issuer it names"
            ));
        }
        let provider = Arc::new(Provider {
            issuer: said.to_owned(),
            authorization_endpoint: self.endpoint(&document, "authorization_endpoint")?,
            token_endpoint: self.endpoint(&document, "token_endpoint")?,
            jwks_uri: self.endpoint(&document, "jwks_uri")?,
        });
        self.lock_providers()
            .insert(issuer.to_owned(), (Instant::now(), provider.clone()));
        Ok(provider)
    }

    fn lock_providers(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<String, (Instant, Arc<Provider>)>> {
        self.providers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn lock_keys(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Instant, Arc<JwkSet>)>> {
        self.keys
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    async fn key_set(&self, provider: &Provider, fresh: bool) -> Result<Arc<JwkSet>, String> {
        let key = provider.jwks_uri.as_str().to_owned();
        if !fresh
            && let Some((at, found)) = self.lock_keys().get(&key)
            && at.elapsed() < CACHE_FOR
        {
            return Ok(found.clone());
        }
        let document = egress::json(&provider.jwks_uri, None, TIMEOUT, self.allow_private)
            .await
            .map_err(|e| format!("could not read the provider's keys: {e}"))?;
        // Keys are read one by one: one of a kind this side does not know (another curve, an
        // encryption key) is skipped rather than spoiling the set.
        let keys = document
            .get("keys")
            .and_then(Value::as_array)
            .ok_or("the provider's keys are not a JSON Web Key Set")?
            .iter()
            .filter_map(|k| serde_json::from_value(k.clone()).ok())
            .collect();
        let set = JwkSet { keys };
        let set = Arc::new(set);
        self.lock_keys().insert(key, (Instant::now(), set.clone()));
        Ok(set)
    }

    /// Trades the authorization code for tokens (client secret in HTTP basic, the PKCE
    /// verifier alongside) and returns the ID token.
    pub async fn exchange(
        &self,
        provider: &Provider,
        client_id: &str,
        client_secret: &str,
        code: &str,
        verifier: &str,
        redirect_uri: &str,
    ) -> Result<String, String> {
        // RFC 6749 §2.3.1: the credentials are form-encoded before they go in the header.
        let id = form_encode(client_id);
        let secret = form_encode(client_secret);
        let fields = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier),
            ("client_id", client_id),
        ];
        let answer = egress::json(
            &provider.token_endpoint,
            Some(egress::FormPost {
                fields: &fields,
                user: &id,
                password: &secret,
            }),
            TIMEOUT,
            self.allow_private,
        )
        .await
        .map_err(|e| format!("the provider did not accept the sign-in: {e}"))?;
        answer
            .get("id_token")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| "the provider's answer has no ID token (is the openid scope allowed for this client?)".into())
    }

    /// Checks an ID token and reads the person from it. A key the cached set does not have
    /// sends for the set again once (the provider may have rotated its keys).
    pub async fn verify(
        &self,
        provider: &Provider,
        id_token: &str,
        client_id: &str,
        nonce: &str,
    ) -> Result<Person, String> {
        let header = jsonwebtoken::decode_header(id_token)
            .map_err(|e| format!("the ID token is malformed: {e}"))?;
        if !ASYMMETRIC.contains(&header.alg) {
            return Err(format!(
                "the ID token is signed with {:?}; Rapport accepts RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384 and EdDSA",
                header.alg
            ));
        }
        let mut set = self.key_set(provider, false).await?;
        let mut jwk = pick_key(&set, header.kid.as_deref(), header.alg);
        if jwk.is_none() {
            set = self.key_set(provider, true).await?;
            jwk = pick_key(&set, header.kid.as_deref(), header.alg);
        }
        let jwk = jwk.ok_or("the ID token is signed with a key the provider does not publish")?;
        let key = DecodingKey::from_jwk(jwk)
            .map_err(|e| format!("the provider's key is unusable: {e}"))?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[provider.issuer.as_str()]);
        validation.set_audience(&[client_id]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let data = jsonwebtoken::decode::<Claims>(id_token, &key, &validation)
            .map_err(|e| format!("the ID token was refused: {e}"))?;
        let claims = data.claims;
        if claims.nonce.as_deref() != Some(nonce) {
            return Err("the ID token was issued for another sign-in (its nonce differs)".into());
        }
        // With several audiences, the party the token was issued to must be this client.
        if claims.azp.as_deref().is_some_and(|azp| azp != client_id) {
            return Err("the ID token was issued to another client (azp)".into());
        }
        if claims.sub.is_empty() {
            return Err("the ID token names nobody (empty subject)".into());
        }
        Ok(Person {
            subject: claims.sub,
            email: claims
                .email
                .map(|e| e.trim().to_owned())
                .filter(|e| !e.is_empty()),
            email_verified: claims.email_verified.as_ref().and_then(|v| match v {
                Value::Bool(b) => Some(*b),
                Value::String(s) => Some(s == "true"),
                _ => None,
            }),
            name: claims
                .name
                .map(|n| n.trim().to_owned())
                .filter(|n| !n.is_empty()),
        })
    }
}

/// Signature algorithms an ID token may use: public-key ones only, so nothing signed with a
/// shared secret (or unsigned) passes.
const ASYMMETRIC: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

#[derive(Deserialize)]
struct Claims {
    sub: String,
    nonce: Option<String>,
    azp: Option<String>,
    email: Option<String>,
    email_verified: Option<Value>,
    name: Option<String>,
}

/// The key a token names by `kid`; without one, the only key of a fitting family.
fn pick_key<'a>(
    set: &'a JwkSet,
    kid: Option<&str>,
    alg: Algorithm,
) -> Option<&'a jsonwebtoken::jwk::Jwk> {
    use jsonwebtoken::jwk::AlgorithmParameters as P;
    let fits = |jwk: &jsonwebtoken::jwk::Jwk| {
        matches!(
            (&jwk.algorithm, alg),
            (
                P::RSA(_),
                Algorithm::RS256
                    | Algorithm::RS384
                    | Algorithm::RS512
                    | Algorithm::PS256
                    | Algorithm::PS384
                    | Algorithm::PS512,
            ) | (P::EllipticCurve(_), Algorithm::ES256 | Algorithm::ES384)
                | (P::OctetKeyPair(_), Algorithm::EdDSA)
        )
    };
    // A key published for encryption, or for another algorithm, does not check signatures.
    let usable = |jwk: &jsonwebtoken::jwk::Jwk| {
        !matches!(
            jwk.common.public_key_use,
            Some(jsonwebtoken::jwk::PublicKeyUse::Encryption)
        ) && jwk
            .common
            .key_algorithm
            // Both enums name the algorithms alike (RS256, ES256, EdDSA).
            .is_none_or(|a| format!("{a:?}") == format!("{alg:?}"))
    };
    let fits = |jwk: &jsonwebtoken::jwk::Jwk| fits(jwk) && usable(jwk);
    match kid {
        Some(kid) => set
            .keys
            .iter()
            .find(|k| k.common.key_id.as_deref() == Some(kid) && fits(k)),
        None => {
            let mut fitting = set.keys.iter().filter(|k| fits(k));
            let first = fitting.next()?;
            fitting.next().is_none().then_some(first)
        }
    }
}

fn form_encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// A fresh random value for `state`, `nonce` and the PKCE verifier (43 characters of
/// base64url, 256 bits).
pub fn random_value() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random generator is available");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The PKCE challenge of a verifier (RFC 7636, `S256`).
pub fn challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// The address that sends the person to the provider to sign in.
pub fn authorization_url(
    provider: &Provider,
    client_id: &str,
    redirect_uri: &str,
    state: &str,
    nonce: &str,
    verifier: &str,
    login_hint: Option<&str>,
) -> Url {
    let mut url = provider.authorization_endpoint.clone();
    {
        let mut query = url.query_pairs_mut();
        query
            .append_pair("response_type", "code")
            .append_pair("client_id", client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("scope", "openid email profile")
            .append_pair("state", state)
            .append_pair("nonce", nonce)
            .append_pair("code_challenge", &challenge(verifier))
            .append_pair("code_challenge_method", "S256");
        if let Some(hint) = login_hint {
            query.append_pair("login_hint", hint);
        }
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pkce_challenge_is_the_rfc_7636_example() {
        // RFC 7636, appendix B.
        assert_eq!(
            challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn issuers_are_https_unless_private_providers_are_allowed() {
        assert!(check_issuer("https://id.example.com", false).is_ok());
        assert_eq!(
            check_issuer("http://id.example.com", false)
                .err()
                .as_deref(),
            Some("the issuer must start with https://")
        );
        assert!(check_issuer("http://127.0.0.1:9400", true).is_ok());
        assert!(check_issuer("https://id.example.com/?tenant=1", false).is_err());
        assert!(check_issuer("https://user:pw@id.example.com", false).is_err());
    }

    #[test]
    fn the_authorization_request_carries_pkce_state_and_nonce() {
        let provider = Provider {
            issuer: "https://id.example.com".into(),
            authorization_endpoint: Url::parse("https://id.example.com/authorize?x=1")
                .expect("url"),
            token_endpoint: Url::parse("https://id.example.com/token").expect("url"),
            jwks_uri: Url::parse("https://id.example.com/jwks").expect("url"),
        };
        let url = authorization_url(
            &provider,
            "rapport",
            "https://crm.example.com/sso/callback",
            "s1",
            "n1",
            "v1",
            Some("ann@example.com"),
        );
        let pairs: HashMap<String, String> = url.query_pairs().into_owned().collect();
        assert_eq!(pairs["x"], "1", "the endpoint's own query is kept");
        assert_eq!(pairs["response_type"], "code");
        assert_eq!(pairs["client_id"], "rapport");
        assert_eq!(
            pairs["redirect_uri"],
            "https://crm.example.com/sso/callback"
        );
        assert_eq!(pairs["state"], "s1");
        assert_eq!(pairs["nonce"], "n1");
        assert_eq!(pairs["code_challenge"], challenge("v1"));
        assert_eq!(pairs["code_challenge_method"], "S256");
        assert_eq!(pairs["login_hint"], "ann@example.com");
        assert!(pairs["scope"].split(' ').any(|s| s == "openid"));
    }

    #[test]
    fn a_key_without_kid_is_taken_only_when_it_is_the_only_fitting_one() {
        let rsa = |kid: Option<&str>| {
            let mut v = serde_json::json!({"kty": "RSA", "n": "sXch", "e": "AQAB", "use": "sig"});
            if let Some(kid) = kid {
                v["kid"] = kid.into();
            }
            v
        };
        let set: JwkSet =
            serde_json::from_value(serde_json::json!({"keys": [rsa(None)]})).expect("set");
        assert!(pick_key(&set, None, Algorithm::RS256).is_some());
        assert!(
            pick_key(&set, None, Algorithm::ES256).is_none(),
            "an RSA key does not check an EC signature"
        );
        let two: JwkSet =
            serde_json::from_value(serde_json::json!({"keys": [rsa(Some("a")), rsa(Some("b"))]}))
                .expect("set");
        assert!(pick_key(&two, None, Algorithm::RS256).is_none());
        assert_eq!(
            pick_key(&two, Some("b"), Algorithm::RS256).and_then(|k| k.common.key_id.as_deref()),
            Some("b")
        );
        assert!(pick_key(&two, Some("c"), Algorithm::RS256).is_none());
    }
}
