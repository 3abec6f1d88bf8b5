//! Batches fetched over HTTP from several validator endpoints.
//!
//! Every endpoint that is not backing off is asked at once for `GET <base>/v1/batches/<epoch>`; `404` means
//! "not yet". Once one endpoint has served a batch the others get a short grace period (so conflicting batches
//! are seen side by side) and the rest are abandoned, so a slow endpoint costs at most the grace period. An
//! endpoint that fails (timeout, refused connection, 5xx) backs off exponentially. Bodies are read with a size
//! limit. What endpoints serve is only ever a candidate: the verifier decides, so a lying endpoint can neither
//! stall nor poison the relayer.

use std::time::Duration;

use alloy::transports::http::reqwest::Url;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::Error;
use super::envelope::MAX_ENVELOPE_BYTES;
use super::source::{Candidate, Fetched, QUARANTINE_PREFIX_BYTES, Refused};

/// How long the other endpoints may still answer once one has served a batch.
pub const GRACE: Duration = Duration::from_millis(250);

/// Polls several validator endpoints.
#[derive(Debug)]
pub struct HttpSource {
    client: reqwest::Client,
    endpoints: Vec<Endpoint>,
    max_bytes: usize,
}

#[derive(Debug)]
struct Endpoint {
    base: Url,
    backoff: crate::backoff::Backoff,
    retry_at: Instant,
}

/// What one endpoint answered.
enum Answer {
    Batch(Vec<u8>),
    NotYet,
    TooLarge { size: usize, prefix: Vec<u8> },
    Failed(String),
}

impl HttpSource {
    /// A source over `endpoints`, each request bounded by `timeout`.
    pub fn new(endpoints: Vec<Url>, timeout: Duration) -> Result<Self, Error> {
        let client = crate::net::client(timeout).map_err(|e| Error::Source(std::io::Error::other(e)))?;
        let now = Instant::now();
        let endpoints =
            endpoints.into_iter().map(|base| Endpoint { base, backoff: Default::default(), retry_at: now }).collect();
        Ok(Self { client, endpoints, max_bytes: MAX_ENVELOPE_BYTES })
    }

    /// The same source, refusing answers over `max_bytes` instead of the default.
    pub fn within(self, max_bytes: u64) -> Self {
        Self { max_bytes: usize::try_from(max_bytes).unwrap_or(usize::MAX), ..self }
    }

    /// The endpoints, for logs.
    pub fn describe(&self) -> String {
        self.endpoints.iter().map(|e| e.base.as_str()).collect::<Vec<_>>().join(", ")
    }

    /// Asks every endpoint that is not backing off for `epoch`.
    pub async fn fetch(&mut self, epoch: u64) -> Fetched {
        let now = Instant::now();
        let mut tasks = JoinSet::new();
        for (i, endpoint) in self.endpoints.iter().enumerate() {
            if endpoint.retry_at > now {
                continue;
            }
            let client = self.client.clone();
            let (url, max_bytes) = (batch_url(&endpoint.base, epoch), self.max_bytes);
            tasks.spawn(async move { (i, ask(&client, url, max_bytes).await) });
        }

        let mut fetched = Fetched::default();
        let mut deadline: Option<Instant> = None;
        loop {
            let next = match deadline {
                Some(d) => match tokio::time::timeout_at(d, tasks.join_next()).await {
                    Ok(next) => next,
                    Err(_) => break, // grace period over: abandon the slow ones
                },
                None => tasks.join_next().await,
            };
            let Some(joined) = next else { break };
            let Ok((i, answer)) = joined else { continue };
            let origin = batch_url(&self.endpoints[i].base, epoch).to_string();
            match answer {
                Answer::Batch(bytes) => {
                    // Serving something is not being healthy: the verdict (`accepted`/`rejected`) decides.
                    fetched.candidates.push(Candidate { origin, bytes });
                    deadline.get_or_insert_with(|| Instant::now() + GRACE);
                }
                Answer::NotYet => self.endpoints[i].succeeded(),
                Answer::TooLarge { size, prefix } => {
                    self.endpoints[i].failed();
                    let error = Error::Oversized { size, limit: self.max_bytes };
                    fetched.refused.push(Refused { origin, error, prefix });
                }
                Answer::Failed(reason) => {
                    let endpoint = &mut self.endpoints[i];
                    endpoint.failed();
                    tracing::warn!(epoch, %origin, %reason, failures = endpoint.backoff.failures(), "validator endpoint failed");
                }
            }
        }
        tasks.abort_all();
        fetched
    }
}

impl HttpSource {
    /// `origin` (a batch URL one of our endpoints served) served an invalid batch: that endpoint backs off, and
    /// keeps backing off longer while it serves nothing better.
    pub fn rejected(&mut self, origin: &str) {
        if let Some(endpoint) = self.endpoint_of(origin) {
            endpoint.failed();
        }
    }

    /// `origin` served a batch that was accepted: its endpoint is healthy.
    pub fn accepted(&mut self, origin: &str) {
        if let Some(endpoint) = self.endpoint_of(origin) {
            endpoint.succeeded();
        }
    }

    fn endpoint_of(&mut self, origin: &str) -> Option<&mut Endpoint> {
        let base = |e: &Endpoint| batch_url(&e.base, 0).as_str().trim_end_matches('0').to_string();
        self.endpoints.iter_mut().find(|e| origin.starts_with(&base(e)))
    }
}

impl Endpoint {
    fn succeeded(&mut self) {
        self.backoff.succeeded();
        self.retry_at = Instant::now();
    }

    fn failed(&mut self) {
        self.retry_at = Instant::now() + self.backoff.failed();
    }
}

fn batch_url(base: &Url, epoch: u64) -> Url {
    let mut url = base.clone();
    let path = format!("{}/v1/batches/{epoch}", base.path().trim_end_matches('/'));
    url.set_path(&path);
    url
}

async fn ask(client: &reqwest::Client, url: Url, max_bytes: usize) -> Answer {
    let mut response = match client.get(url.as_str()).send().await {
        Ok(r) => r,
        Err(e) => return Answer::Failed(e.to_string()),
    };
    match response.status().as_u16() {
        200 => {}
        404 => return Answer::NotYet,
        code => return Answer::Failed(format!("HTTP {code}")),
    }
    if let Some(len) = response.content_length().filter(|&n| n > max_bytes as u64) {
        return Answer::TooLarge { size: len as usize, prefix: Vec::new() };
    }
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                body.extend_from_slice(&chunk);
                if body.len() > max_bytes {
                    body.truncate(QUARANTINE_PREFIX_BYTES);
                    return Answer::TooLarge { size: max_bytes.saturating_add(1), prefix: body };
                }
            }
            Ok(None) => return Answer::Batch(body),
            Err(e) => return Answer::Failed(e.to_string()),
        }
    }
}
