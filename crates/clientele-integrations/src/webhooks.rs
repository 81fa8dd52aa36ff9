//! Webhook messages over HTTP: a POST with the Standard Webhooks headers, no redirect followed,
//! at most 1 KiB of the answer read, and no address a tenant should not reach (loopback,
//! private networks, link-local and cloud metadata), checked when an endpoint is made and again
//! at every connection, through our own resolver, so that a host re-pointed since (DNS
//! rebinding) is still refused.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use clientele_core::webhooks::transport::{WebhookRequest, WebhookResponse, WebhookTransport};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// The most of an answer's body that is read (and kept with the attempt).
const BODY_KEPT: usize = 1024;

/// The HTTP transport of webhooks.
#[derive(Debug, Clone)]
pub struct HttpWebhooks {
    client: reqwest::Client,
    allow_private: bool,
}

impl HttpWebhooks {
    /// A transport; `allow_private_hosts` lets it reach loopback and private addresses (tests,
    /// receivers on a private network).
    pub fn new(allow_private_hosts: bool) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(GuardedResolver { allow_private: allow_private_hosts }))
            .pool_max_idle_per_host(8)
            .build()
            .map_err(|e| format!("the webhook HTTP client: {e}"))?;
        Ok(Self { client, allow_private: allow_private_hosts })
    }
}

/// Whether a tenant's webhook may reach `ip`: not loopback, private, link-local (cloud metadata
/// lives there), unspecified, multicast or otherwise special.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        // Carrier-grade NAT, and the IETF's and benchmarking ranges.
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0)
        || (a == 198 && (18..20).contains(&b))
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        // Unique local (fc00::/7, where cloud metadata's IPv6 address is) and link-local.
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
        // Documentation, and the old site-local range.
        || first == 0x2001 && ip.segments()[1] == 0x0db8
        || (first & 0xffc0) == 0xfec0)
}

/// Resolves names through the system, keeping only the addresses a webhook may reach.
#[derive(Debug)]
struct GuardedResolver {
    allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> = match tokio::net::lookup_host((host.as_str(), 0)).await {
                Ok(found) => found.collect(),
                Err(e) => return Err(format!("the host {host} does not resolve ({e})").into()),
            };
            let allowed: Vec<SocketAddr> = found.into_iter().filter(|a| allow_private || is_public(a.ip())).collect();
            if allowed.is_empty() {
                let refused: Box<dyn std::error::Error + Send + Sync> =
                    format!("{host} resolves only to private or reserved addresses").into();
                return Err(refused);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

impl HttpWebhooks {
    /// Why `url`'s host may not be called, checking an address written in the URL itself
    /// (which no resolver sees).
    fn literal_refused(&self, url: &url::Url) -> Option<String> {
        if self.allow_private {
            return None;
        }
        let ip = match url.host()? {
            url::Host::Ipv4(ip) => IpAddr::V4(ip),
            url::Host::Ipv6(ip) => IpAddr::V6(ip),
            url::Host::Domain(_) => return None,
        };
        (!is_public(ip)).then(|| format!("{ip} is a private or reserved address"))
    }
}

#[async_trait::async_trait]
impl WebhookTransport for HttpWebhooks {
    async fn check_host(&self, url: &url::Url) -> Result<(), String> {
        if let Some(refused) = self.literal_refused(url) {
            return Err(format!("must not point at a private network: {refused}"));
        }
        let Some(url::Host::Domain(host)) = url.host() else { return Ok(()) };
        let port = url.port_or_known_default().unwrap_or(443);
        let found: Vec<SocketAddr> = match tokio::net::lookup_host((host, port)).await {
            Ok(found) => found.collect(),
            Err(_) => return Err(format!("the host {host} does not resolve")),
        };
        if found.is_empty() {
            return Err(format!("the host {host} does not resolve"));
        }
        match found.iter().find(|a| !self.allow_private && !is_public(a.ip())) {
            Some(private) => Err(format!("must not point at a private network: {host} resolves to {}", private.ip())),
            None => Ok(()),
        }
    }

    async fn post(&self, request: &WebhookRequest) -> WebhookResponse {
        let started = Instant::now();
        let failed = |error: String, started: Instant| WebhookResponse {
            status: None,
            latency: started.elapsed(),
            error: Some(error),
            body: None,
        };
        let url = match url::Url::parse(&request.url) {
            Ok(url) => url,
            Err(e) => return failed(format!("the endpoint's URL is invalid: {e}"), started),
        };
        if let Some(refused) = self.literal_refused(&url) {
            return failed(format!("refused to connect: {refused}"), started);
        }
        let mut builder = self.client.post(url).timeout(request.timeout).body(request.body.clone());
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        let mut response = match builder.send().await {
            Ok(response) => response,
            Err(e) => return failed(describe(&e, request), started),
        };
        let status = response.status().as_u16();
        let mut body = Vec::new();
        let mut error = None;
        // Only the start of the answer is read; a receiver that sends megabytes, or never ends
        // its answer, costs a kilobyte and the timeout.
        while body.len() < BODY_KEPT {
            match response.chunk().await {
                Ok(Some(chunk)) => body.extend_from_slice(&chunk[..chunk.len().min(BODY_KEPT - body.len())]),
                Ok(None) => break,
                Err(e) => {
                    // The status counts; what the body did after it only explains.
                    error = Some(describe(&e, request));
                    break;
                }
            }
        }
        if (300..400).contains(&status) {
            let to = response.headers().get("location").and_then(|l| l.to_str().ok()).unwrap_or("elsewhere");
            error = Some(format!("redirected to {to} (redirects are not followed)"));
        }
        WebhookResponse {
            status: Some(status),
            latency: started.elapsed(),
            error,
            body: (!body.is_empty()).then(|| String::from_utf8_lossy(&body).into_owned()),
        }
    }
}

/// A failed request in words an operator can act on.
fn describe(error: &reqwest::Error, request: &WebhookRequest) -> String {
    if error.is_timeout() {
        return format!("no answer within {:.1} s", request.timeout.as_secs_f64());
    }
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    if error.is_connect() { format!("could not connect: {text}") } else { text }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_reserved_addresses_are_not_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd00:ec2::254",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "224.0.0.1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["8.8.8.8", "151.101.1.1", "2a00:1450:4001:80b::200e", "::ffff:8.8.8.8"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }
}
