//! The listener: accepts TCP connections and runs one [`crate::session`] task per connection.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use agent_api::{AgentClient, ClientError};
use tokio::net::TcpListener;
use tracing::{debug, warn, Instrument};

use crate::backend::{Backend, CachedBackend};
use crate::config::{Config, ConfigError, Limits, MonitorConfig, TenantConfig};
use crate::hosts::HostTable;
use crate::plan::TimeZone;
use crate::session::denials::LoginDenials;

/// One tenant: its configuration and the backend its queries go to.
pub struct Tenant {
    /// From `tenants[]`.
    pub config: TenantConfig,
    /// The agent endpoint of this tenant, with its metadata cache.
    pub backend: CachedBackend,
}

impl Tenant {
    /// True when this tenant may make `db` its current database (`USE`, COM_INIT_DB, the
    /// connect-time database): the virtual schemas and `information_schema` always, a captured
    /// schema when `allowed_schemas` lists it (case-insensitively) or is absent.
    pub fn may_use(&self, db: &str) -> bool {
        let open = crate::chatter::catalog::VIRTUAL_SCHEMAS
            .iter()
            .chain(&["information_schema"])
            .any(|s| s.eq_ignore_ascii_case(db));
        open || self.config.allows(db)
    }
}

/// State shared by every connection of one server.
pub struct Shared {
    /// Tenants by MySQL user name.
    pub tenants: HashMap<String, Arc<Tenant>>,
    /// Session time zone at connect.
    pub default_time_zone: TimeZone,
    /// ProxySQL's monitor account, when configured.
    pub monitor: Option<MonitorConfig>,
    /// Refused logins, for rate-limited logging.
    pub denials: LoginDenials,
    /// Most simultaneous logged-in connections, and most connections in the connection phase.
    pub max_connections: usize,
    /// Longest connection phase (`connect_timeout`).
    pub connect_timeout: Duration,
    /// Connection errors and failed logins per client address.
    pub hosts: HostTable,
    /// Logged-in sessions by connection id, for `KILL`.
    pub sessions: crate::session::kill::Registry,
    /// Connections in the connection phase by id (oldest first), each with the signal that
    /// closes it when a newer one needs its place.
    connecting: Mutex<BTreeMap<u32, Arc<tokio::sync::Notify>>>,
    /// Guard rails (`limits:` of shim.yaml).
    pub limits: Limits,
    /// TLS on the MySQL port, when `tls:` is configured.
    pub tls: Option<tokio_rustls::TlsAcceptor>,
    /// `tls.require`: refuse clients that do not upgrade.
    pub tls_required: bool,
    /// Connections open now.
    active: AtomicUsize,
    next_connection_id: AtomicU32,
}

/// Who a login is, once the user name is looked up.
#[derive(Clone)]
pub enum Account {
    /// A tenant user: time-travel queries on its source.
    Tenant(Arc<Tenant>),
    /// ProxySQL's monitor: ping, `@@read_only`, `SET wait_timeout` only.
    Monitor,
}

impl Shared {
    /// Tenants served by agent-core over HTTP, one client (and cache) per distinct endpoint.
    pub fn from_config(config: &Config) -> Result<Self, ServerError> {
        let mut clients: HashMap<(String, String), CachedBackend> = HashMap::new();
        let mut tenants = HashMap::new();
        for tenant in &config.tenants {
            let endpoint = config
                .endpoint(tenant)
                .ok_or_else(|| ServerError::NoAgent(tenant.mysql_user.clone()))?;
            let key = (endpoint.url.clone(), endpoint.token.clone());
            let backend = match clients.get(&key) {
                Some(b) => b.clone(),
                None => {
                    let timeouts = agent_api::client::Timeouts {
                        connect: config.agent_timeout.min(Duration::from_secs(5)),
                        read: Some(config.agent_timeout),
                    };
                    let client =
                        AgentClient::with_timeouts(&endpoint.url, &endpoint.token, timeouts)?;
                    let b = CachedBackend::with_config(Arc::new(client), &config.cache);
                    clients.insert(key, b.clone());
                    b
                }
            };
            tenants.insert(
                tenant.mysql_user.clone(),
                Arc::new(Tenant {
                    config: tenant.clone(),
                    backend,
                }),
            );
        }
        Self::new(tenants, config)
    }

    /// Every tenant of `config` served by the same `backend` (tests, single-agent setups).
    pub fn with_backend(config: &Config, backend: Arc<dyn Backend>) -> Result<Self, ServerError> {
        let backend = CachedBackend::with_config(backend, &config.cache);
        let tenants = config
            .tenants
            .iter()
            .map(|t| {
                let tenant = Tenant {
                    config: t.clone(),
                    backend: backend.clone(),
                };
                (t.mysql_user.clone(), Arc::new(tenant))
            })
            .collect();
        Self::new(tenants, config)
    }

    fn new(tenants: HashMap<String, Arc<Tenant>>, config: &Config) -> Result<Self, ServerError> {
        for user in config.unrestricted_tenants() {
            tracing::warn!(
                user,
                tenants = config.tenants.len(),
                "tenant has no allowed_schemas: it reads every captured schema of its source"
            );
        }
        Ok(Self {
            tenants,
            default_time_zone: config.time_zone()?,
            monitor: config.monitor.clone(),
            denials: LoginDenials::default(),
            max_connections: config.max_connections,
            connect_timeout: config.connect_timeout,
            hosts: HostTable::new(config.max_connect_errors),
            sessions: Default::default(),
            connecting: Mutex::new(BTreeMap::new()),
            limits: config.limits.clone(),
            tls: config.tls.as_ref().map(|t| t.acceptor()).transpose()?,
            tls_required: config.tls.as_ref().is_some_and(|t| t.require),
            active: AtomicUsize::new(0),
            next_connection_id: AtomicU32::new(1),
        })
    }

    /// The account of `user` and the password it must prove; `None` for an unknown user.
    pub fn account(&self, user: &str) -> Option<(Account, &str)> {
        if let Some(tenant) = self.tenants.get(user) {
            return Some((
                Account::Tenant(Arc::clone(tenant)),
                &tenant.config.mysql_password,
            ));
        }
        let monitor = self.monitor.as_ref().filter(|m| m.user == user)?;
        Some((Account::Monitor, &monitor.password))
    }

    fn connection_id(&self) -> u32 {
        self.next_connection_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Registers connection `id` as being in the connection phase. When `max_connections` are
    /// already there, the oldest is told to close (its signal fires), so a flood of sockets that
    /// never log in cannot keep a real client from connecting.
    pub fn connecting(self: &Arc<Self>, id: u32) -> Connecting {
        let signal = Arc::new(tokio::sync::Notify::new());
        let mut map = self.connecting.lock().unwrap_or_else(|p| p.into_inner());
        while map.len() >= self.max_connections {
            let Some((old, evicted)) = map.pop_first() else {
                break;
            };
            tracing::info!(
                connection = old,
                "closing the oldest connection still in the connection phase"
            );
            evicted.notify_one();
        }
        map.insert(id, Arc::clone(&signal));
        Connecting {
            shared: Arc::clone(self),
            id,
            evicted: signal,
        }
    }

    /// Takes one of `max_connections` places for a logged-in session.
    pub(crate) fn session_slot(self: &Arc<Self>) -> Option<ConnectionSlot> {
        ConnectionSlot::take(self)
    }
}

/// A connection in the connection phase; dropping it ends that phase.
pub struct Connecting {
    shared: Arc<Shared>,
    id: u32,
    /// Fires when a newer connection took this one's place.
    pub evicted: Arc<tokio::sync::Notify>,
}

impl Drop for Connecting {
    fn drop(&mut self) {
        let mut map = (self.shared.connecting.lock()).unwrap_or_else(|p| p.into_inner());
        map.remove(&self.id);
    }
}

/// Start-up failures.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// Bad configuration.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A tenant without any agent URL.
    #[error("tenant {0:?} has no agent_url")]
    NoAgent(String),
    /// The agent client cannot be built.
    #[error("{0}")]
    Agent(#[from] ClientError),
    /// The listen address cannot be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// Address.
        addr: SocketAddr,
        /// Cause.
        source: std::io::Error,
    },
}

/// A bound MySQL-protocol listener.
pub struct Server {
    listener: TcpListener,
    shared: Arc<Shared>,
}

impl Server {
    /// Binds `addr` (port 0 picks a free port).
    pub async fn bind(addr: SocketAddr, shared: Shared) -> Result<Self, ServerError> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| ServerError::Bind { addr, source })?;
        Ok(Self {
            listener,
            shared: Arc::new(shared),
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Accepts connections until the task is dropped.
    pub async fn serve(self) {
        loop {
            let (stream, peer) = match self.listener.accept().await {
                Ok(conn) => conn,
                Err(e) => {
                    warn!(error = %e, "accept failed");
                    continue;
                }
            };
            let id = self.shared.connection_id();
            let shared = Arc::clone(&self.shared);
            let span = tracing::info_span!("connection", id, %peer);
            if self.shared.hosts.check(peer.ip(), Instant::now()).is_err() {
                debug!(%peer, "blocked host refused");
                let error = crate::error::MysqlError::new(
                    1129,
                    b"HY000",
                    format!(
                        "Host '{}' is blocked because of many connection errors; it is unblocked {} s after the last one",
                        peer.ip(),
                        crate::hosts::BLOCK.as_secs()
                    ),
                );
                tokio::spawn(crate::session::refuse(stream, error));
                continue;
            }
            if self.shared.active.load(Ordering::Acquire) >= self.shared.max_connections {
                warn!(%peer, max = self.shared.max_connections, "too many connections");
                let error = crate::error::MysqlError::too_many_connections();
                tokio::spawn(crate::session::refuse(stream, error));
                continue;
            }
            let connecting = self.shared.connecting(id);
            tokio::spawn(
                async move {
                    let _ = stream.set_nodelay(true);
                    crate::session::run(stream, peer, shared, id, connecting).await;
                }
                .instrument(span),
            );
        }
    }
}

/// One of `max_connections` places, given back when dropped.
pub(crate) struct ConnectionSlot(Arc<Shared>);

impl ConnectionSlot {
    fn take(shared: &Arc<Shared>) -> Option<Self> {
        let taken = shared
            .active
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < shared.max_connections).then_some(n + 1)
            });
        taken.is_ok().then(|| ConnectionSlot(Arc::clone(shared)))
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::AcqRel);
    }
}
