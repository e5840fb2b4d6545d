//! Outgoing requests (to webhook receivers and single sign-on providers), refusing what an
//! attacker could aim them at: private, loopback, link-local and other non-public addresses
//! (unless the instance allows them), and redirects. The name is resolved once and the request goes to the checked address, so a DNS
//! answer cannot change between the check and the connection. Responses are read up to a cap.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use url::Url;

/// Most of a response that is read (the rest is dropped).
const READ_CAP: usize = 64 * 1024;
/// What is kept of a response for the delivery log.
const EXCERPT: usize = 2 * 1024;

/// Checks a receiver URL's form: http or https, a host, no user name or password.
pub fn check_url(raw: &str) -> Result<Url, &'static str> {
    let url = Url::parse(raw.trim()).map_err(|_| "is not a URL")?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("must start with https:// or http://");
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("needs a host name");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry a user name or password");
    }
    Ok(url)
}

/// Whether an address is not on the public internet.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => private_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return private_v4(v4);
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local
                || (first & 0xffc0) == 0xfe80 // link-local
                || (first == 0x2001 && v6.segments()[1] == 0x0db8) // documentation
        }
    }
}

fn private_v4(ip: Ipv4Addr) -> bool {
    let [a, b, _, _] = ip.octets();
    ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..=127).contains(&b)) // carrier-grade NAT
        || (a == 192 && b == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240
}

/// What came back.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub latency_ms: i64,
    pub excerpt: String,
}

/// Why nothing came back.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The destination is refused (SSRF protection) or malformed: retrying will not help.
    #[error("{0}")]
    Refused(String),
    /// The network, a timeout, a broken response: worth retrying.
    #[error("{0}")]
    Network(String),
}

/// A client bound to the checked addresses of `url`'s host: the name is resolved once here,
/// refused when it resolves to a non-public address (unless `allow_private`), and the client
/// connects only there, following no redirect.
async fn guarded_client(
    url: &Url,
    timeout: Duration,
    allow_private: bool,
    user_agent: &str,
) -> Result<reqwest::Client, Failure> {
    let host = url.host_str().unwrap_or_default().to_owned();
    let port = url.port_or_known_default().unwrap_or(443);
    let lookup_host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let addresses: Vec<SocketAddr> = match tokio::time::timeout(
        Duration::from_secs(5),
        tokio::net::lookup_host((lookup_host.as_str(), port)),
    )
    .await
    {
        Ok(Ok(found)) => found.collect(),
        Ok(Err(e)) => return Err(Failure::Network(format!("could not resolve {host}: {e}"))),
        Err(_) => return Err(Failure::Network(format!("resolving {host} timed out"))),
    };
    if addresses.is_empty() {
        return Err(Failure::Network(format!("{host} has no address")));
    }
    if !allow_private && let Some(private) = addresses.iter().find(|a| is_private(a.ip())) {
        return Err(Failure::Refused(format!(
            "refused: {host} resolves to {}, which is not a public address",
            private.ip()
        )));
    }
    reqwest::Client::builder()
        // A proxy from the environment would connect elsewhere than the address checked here.
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(5).min(timeout))
        .timeout(timeout)
        .resolve_to_addrs(&lookup_host, &addresses)
        .user_agent(user_agent)
        .build()
        .map_err(|e| Failure::Network(e.to_string()))
}

fn network_failure(e: &reqwest::Error, timeout: Duration) -> Failure {
    Failure::Network(if e.is_timeout() {
        format!("no answer within {} seconds", timeout.as_secs())
    } else if e.is_connect() {
        format!("could not connect: {e}")
    } else {
        e.to_string()
    })
}

/// Reads a response's body up to `cap` bytes; a body cut short is kept as far as it came.
async fn read_capped(response: &mut reqwest::Response, cap: usize) -> Vec<u8> {
    let mut read = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        read.extend_from_slice(&chunk[..chunk.len().min(cap - read.len())]);
        if read.len() >= cap {
            break;
        }
    }
    read
}

/// Sends a POST with these headers and body; `allow_private` lifts the address check.
pub async fn post(
    raw_url: &str,
    headers: &[(&str, String)],
    body: String,
    timeout: Duration,
    allow_private: bool,
) -> Result<Answer, (Failure, i64)> {
    let started = Instant::now();
    let elapsed = |started: Instant| started.elapsed().as_millis() as i64;
    let url = check_url(raw_url).map_err(|m| (Failure::Refused(format!("the URL {m}")), 0))?;
    let client = guarded_client(
        &url,
        timeout,
        allow_private,
        concat!("Rapport-Webhooks/", env!("CARGO_PKG_VERSION")),
    )
    .await
    .map_err(|f| (f, elapsed(started)))?;
    let mut request = client.post(url).body(body);
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let mut response = request
        .send()
        .await
        .map_err(|e| (network_failure(&e, timeout), elapsed(started)))?;
    let status = response.status().as_u16();
    let read = read_capped(&mut response, READ_CAP).await;
    let text = String::from_utf8_lossy(&read[..read.len().min(EXCERPT)]).into_owned();
    Ok(Answer {
        status,
        latency_ms: elapsed(started),
        excerpt: text,
    })
}

/// Most of a JSON document that is read from an identity provider.
const JSON_CAP: usize = 256 * 1024;

/// A form to POST, with the HTTP basic credentials (user, password) to send it with.
pub struct FormPost<'a> {
    pub fields: &'a [(&'a str, &'a str)],
    pub user: &'a str,
    pub password: &'a str,
}

/// Asks for a JSON document, with a GET or a form POST (with HTTP basic credentials, as an
/// OpenID Connect token endpoint wants them), under the same address rules as [`post`]. A
/// status other than 2xx is a [`Failure::Refused`] naming it and what the server said.
pub async fn json(
    url: &Url,
    form: Option<FormPost<'_>>,
    timeout: Duration,
    allow_private: bool,
) -> Result<serde_json::Value, Failure> {
    let client = guarded_client(
        url,
        timeout,
        allow_private,
        concat!("Rapport/", env!("CARGO_PKG_VERSION")),
    )
    .await?;
    let request = match form {
        None => client.get(url.clone()),
        Some(form) => client
            .post(url.clone())
            .basic_auth(form.user, Some(form.password))
            .form(form.fields),
    };
    let mut response = request
        .header("accept", "application/json")
        .send()
        .await
        .map_err(|e| network_failure(&e, timeout))?;
    let status = response.status();
    let body = read_capped(&mut response, JSON_CAP).await;
    if !status.is_success() {
        // Only an OAuth error's own fields are repeated (`invalid_client: …`), never the rest of
        // what a server sent.
        let said = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| {
                let error = v
                    .get("error")?
                    .as_str()?
                    .chars()
                    .take(100)
                    .collect::<String>();
                let detail = v
                    .get("error_description")
                    .and_then(serde_json::Value::as_str)
                    .map(|d| format!(": {}", d.chars().take(200).collect::<String>()))
                    .unwrap_or_default();
                Some(format!(" ({error}{detail})"))
            })
            .unwrap_or_default();
        return Err(Failure::Refused(format!(
            "{url} answered {}{said}",
            status.as_u16()
        )));
    }
    serde_json::from_slice(&body)
        .map_err(|_| Failure::Refused(format!("{url} did not answer with JSON")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_that_are_not_public_are_private() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
        ] {
            assert!(is_private(ip.parse().expect("ip")), "{ip}");
        }
        for ip in [
            "93.184.216.34",
            "1.1.1.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(!is_private(ip.parse().expect("ip")), "{ip}");
        }
    }

    #[test]
    fn urls_must_be_http_with_a_host_and_no_credentials() {
        assert!(check_url("https://hooks.example.com/in").is_ok());
        assert!(
            check_url("http://127.0.0.1:9000/x").is_ok(),
            "the address is checked when sending"
        );
        assert_eq!(
            check_url("ftp://example.com").err(),
            Some("must start with https:// or http://")
        );
        assert_eq!(
            check_url("https://user:pw@example.com").err(),
            Some("must not carry a user name or password")
        );
        assert_eq!(check_url("not a url").err(), Some("is not a URL"));
    }
}
