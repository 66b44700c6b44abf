//! `Application::build`: connects the database, runs migrations, builds each service's state
//! and verifier, starts the background refreshers and binds the HTTP server.

use actix_web::{App, HttpResponse, HttpServer, web};
use anyhow::Context;
use auth_core::{AuthSettings, AuthState, KeyRingSource};
use course_service::CourseState;
use grading_service::GradingState;
use lectern_common::csrf::CsrfKey;
use lectern_common::db::Db;
use lectern_common::health::Readiness;
use lectern_common::jwks::JwksSource;
use lectern_common::metrics::Metrics;
use lectern_common::net::TrustedProxies;
use lectern_common::openapi::{self, OpenApiJson};
use lectern_common::revocation::{RevocationSync, load_or_create_secret};
use lectern_common::telemetry::RequestSpan;
use lectern_common::{Config, Identity, middleware, web_config};
use std::net::TcpListener;
use std::sync::Arc;
use token_claims::{Audience, Clock, KeySet, KeySource, RevokedSessions, Verifier, VerifierConfig};
use tracing_actix_web::TracingLogger;

/// Which services one process mounts (docs/api.md, deployment shapes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ServiceSet {
    All,
    Auth,
    Courses,
    Grading,
}

impl ServiceSet {
    fn has_auth(self) -> bool {
        matches!(self, Self::All | Self::Auth)
    }

    fn has_courses(self) -> bool {
        matches!(self, Self::All | Self::Courses)
    }

    fn has_grading(self) -> bool {
        matches!(self, Self::All | Self::Grading)
    }

    /// The `service` label of this process's metrics.
    pub fn name(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Auth => "auth",
            Self::Courses => "courses",
            Self::Grading => "grading",
        }
    }
}

pub struct Application {
    port: u16,
    server: actix_web::dev::Server,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// Everything start-up builds before the server exists; tests reach into it too.
#[derive(Clone)]
pub struct Parts {
    pub db: Db,
    pub auth: Option<Arc<AuthState>>,
    pub revoked: RevokedSessions,
    pub csrf: CsrfKey,
}

fn verifier(
    config: &Config,
    audience: Audience,
    clock: &Arc<dyn Clock>,
    revoked: &RevokedSessions,
    keys: KeySet,
    source: Arc<dyn KeySource>,
) -> anyhow::Result<Arc<Verifier>> {
    let mut vc = VerifierConfig::new(config.issuer.clone(), audience);
    vc.leeway_secs = config.leeway.as_secs();
    vc.max_lifetime_secs = config.access_ttl.as_secs();
    let v =
        Verifier::new(vc, keys, Arc::clone(clock), Arc::new(revoked.clone())).context("building the token verifier")?;
    Ok(Arc::new(v.with_key_source(source)))
}

/// Connects, migrates and loads what every shape needs.
pub async fn prepare(config: &Config, clock: Arc<dyn Clock>, which: ServiceSet) -> anyhow::Result<Parts> {
    let (url, read_url) = (config.database_url.clone(), config.database_read_url.clone());
    let db = tokio::task::spawn_blocking(move || Db::connect_with_reads(&url, read_url.as_deref()))
        .await?
        .context("LECTERN_DATABASE_URL: cannot open the database")?;
    let migrated = db.migrate().context("running migrations")?;
    if migrated > 0 {
        tracing::info!(count = migrated, "applied migrations");
    }
    let now = clock.now();
    // The course and grading pages' CSRF key, shared through the database by every process.
    let csrf_key = load_or_create_secret(&mut *db.get()?, "csrf", now)?;
    let revoked = RevokedSessions::new();
    // The revocations made elsewhere before this process started: without them, a token revoked
    // (say) during a failover verifies here until the first background sync lands.
    RevocationSync {
        db: db.clone(),
        set: revoked.clone(),
        clock: Arc::clone(&clock),
        window: config.access_ttl + config.leeway,
    }
    .run_once(true)
    .await
    .context("loading revoked sessions")?;
    let auth = if which.has_auth() {
        // Only auth-core holds the key-encryption key that opens its keys and secrets.
        let kek_path = config.key_encryption_key_path()?;
        let kek = auth_core::seal::Kek::load_or_create(&kek_path)
            .with_context(|| format!("the key-encryption key ({})", kek_path.display()))?;
        let keys = Arc::new(auth_core::keys::KeyRing::new(kek.clone()));
        let (successor_key, auth_csrf) = {
            let mut conn = db.get()?;
            auth_core::keys::ensure_signing_key(&mut conn, &kek, now)?;
            keys.reload(&mut conn, now)?;
            let at = lectern_common::db::to_db_time(now);
            (
                auth_core::store::sealed_secret(&mut conn, &kek, "refresh-successor", at)?,
                auth_core::store::sealed_secret(&mut conn, &kek, "csrf", at)?,
            )
        };
        let hasher = tokio::task::spawn_blocking(auth_core::password::PasswordHasher::new).await??;
        Some(Arc::new(AuthState::new(
            db.clone(),
            Arc::clone(&clock),
            AuthSettings::from_config(config),
            keys,
            hasher,
            revoked.clone(),
            auth_core::service::AuthSecrets { refresh_successor: successor_key, csrf: CsrfKey::new(auth_csrf) },
        )))
    } else {
        None
    };
    Ok(Parts { db, auth, revoked, csrf: CsrfKey::new(csrf_key) })
}

/// `GET /api/openapi.json`: the documents of the services this process mounts, merged once, and
/// the methods each of its paths answers.
fn openapi_json(which: ServiceSet) -> anyhow::Result<(OpenApiJson, openapi::AllowedMethods)> {
    let docs = [
        // The LTI platform is served by auth-core's process: one document for both.
        which.has_auth().then(|| {
            let mut doc = auth_core::openapi();
            doc.merge(lti_platform::openapi());
            doc
        }),
        which.has_courses().then(course_service::openapi),
        which.has_grading().then(grading_service::openapi),
    ];
    let mut doc = openapi::merge("Lectern", docs.into_iter().flatten());
    openapi::add_standard_answers(&mut doc);
    let json = OpenApiJson::new(&doc).context("serializing the OpenAPI document")?;
    Ok((json, openapi::AllowedMethods::of(&doc)))
}

impl Application {
    /// Binds `config.addr` and builds the server.
    pub async fn build(config: Config, clock: Arc<dyn Clock>, which: ServiceSet) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(config.addr)
            .with_context(|| format!("LECTERN_ADDR: cannot listen on {}", config.addr))?;
        let parts = prepare(&config, Arc::clone(&clock), which).await?;
        Self::from_parts(config, clock, which, parts, listener)
    }

    /// Builds the server on an already bound listener (tests bind port 0 first).
    pub fn from_parts(
        config: Config,
        clock: Arc<dyn Clock>,
        which: ServiceSet,
        parts: Parts,
        listener: TcpListener,
    ) -> anyhow::Result<Self> {
        let port = listener.local_addr()?.port();
        let Parts { db, auth, revoked, csrf } = parts;
        let mut tasks = Vec::new();
        let metrics = Metrics::new().context("metrics registry")?;
        let prometheus = metrics.middleware(which.name()).context("metrics middleware")?;

        let window = config.access_ttl + config.leeway;
        tasks.push(RevocationSync { db: db.clone(), set: revoked.clone(), clock: Arc::clone(&clock), window }.spawn());

        // Where verification keys come from: the key ring itself when auth-core runs in this
        // process; otherwise only auth-core's JWKS (the split shape).
        let (initial_keys, source, jwks): (KeySet, Arc<dyn KeySource>, Option<Arc<JwksSource>>) = match &auth {
            Some(state) => (state.keys.key_set(), Arc::new(KeyRingSource { state: Arc::clone(state) }), None),
            None => {
                let url = config
                    .auth_url
                    .as_deref()
                    .context("LECTERN_AUTH_URL must be set to serve courses or grading without auth")?;
                let jwks =
                    Arc::new(JwksSource::new(url, Some(metrics.clone())).context("LECTERN_AUTH_URL: JWKS client")?);
                (KeySet::default(), Arc::clone(&jwks) as Arc<dyn KeySource>, Some(jwks))
            }
        };
        let identity_for = |audience| -> anyhow::Result<web::Data<Identity>> {
            let v = verifier(&config, audience, &clock, &revoked, initial_keys.clone(), Arc::clone(&source))?;
            Ok(web::Data::new(Identity::new(v, csrf.clone(), &config.public_url)))
        };
        // Tokens are addressed to the course and grading services. auth-core's own account
        // endpoints accept any token of the platform, so they share the courses verifier.
        let courses_identity = identity_for(Audience::Courses)?;
        // auth-core's pages sign their forms with its own key, which no other service can read; the
        // sign-out button of every page uses the services' key.
        let auth_identity = match &auth {
            Some(state) => web::Data::new(
                Identity::new(Arc::clone(&courses_identity.verifier), state.csrf.clone(), &config.public_url)
                    .with_sign_out_key(csrf.clone()),
            ),
            None => courses_identity.clone(),
        };
        let grading_identity = identity_for(Audience::Grading)?;
        let verifiers = vec![Arc::clone(&courses_identity.verifier), Arc::clone(&grading_identity.verifier)];
        let auth_data = auth.as_ref().map(|a| web::Data::from(Arc::clone(a)));
        // The LTI platform runs wherever auth-core does: it signs with auth-core's ID-token keys.
        let lti_data = match &auth {
            Some(state) => Some(web::Data::new(
                lti_platform::LtiState::new(Arc::clone(state)).context("the LTI platform's HTTP client")?,
            )),
            None => None,
        };
        let courses_data =
            which.has_courses().then(|| web::Data::new(CourseState::new(db.clone(), Arc::clone(&clock))));
        let grading_data =
            which.has_grading().then(|| web::Data::new(GradingState::new(db.clone(), Arc::clone(&clock))));
        match (&auth, &jwks) {
            (Some(state), _) => tasks.push(auth_core::spawn_key_reload(Arc::clone(state), verifiers)),
            (None, Some(jwks)) => tasks.push(Arc::clone(jwks).spawn_refresh(verifiers)),
            (None, None) => {}
        }

        let (api_doc, allowed_methods) = openapi_json(which)?;
        let allowed_methods = web::Data::new(allowed_methods);
        let workers = config.workers.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
        let blocking_threads = (usize::try_from(db.pool_size()).unwrap_or(4) / workers.max(1) + 1).max(2);
        let readiness = web::Data::new(Readiness { db, jwks });
        let metrics = web::Data::new(metrics);
        let trusted = web::Data::new(TrustedProxies(config.trusted_proxies.clone()));
        let hsts = config.cookies_secure();
        let server = HttpServer::new(move || {
            let mut app = App::new()
                .wrap(middleware::StandardHeaders { hsts })
                .wrap(prometheus.clone())
                .wrap(TracingLogger::<RequestSpan>::new())
                .app_data(metrics.clone())
                .app_data(trusted.clone())
                .app_data(allowed_methods.clone())
                .configure(|cfg| lectern_common::health::configure(cfg, readiness.clone()))
                .configure(lectern_common::assets::configure)
                .configure(|cfg| lectern_common::openapi::configure(cfg, api_doc.clone()))
                .configure(web_config::standard);
            if let Some(state) = &auth_data {
                app = app.configure(|cfg| auth_core::configure(cfg, state.clone(), auth_identity.clone()));
            }
            if let Some(state) = &lti_data {
                app = app.configure(|cfg| lti_platform::configure(cfg, state.clone(), auth_identity.clone()));
            }
            if let Some(state) = &courses_data {
                app = app.configure(|cfg| course_service::configure(cfg, state.clone(), courses_identity.clone()));
                app = app.route(
                    "/",
                    web::get().to(|| async { HttpResponse::SeeOther().insert_header(("location", "/home")).finish() }),
                );
            }
            if let Some(state) = &grading_data {
                app = app.configure(|cfg| grading_service::configure(cfg, state.clone(), grading_identity.clone()));
            }
            app.default_service(web::to(web_config::not_found))
        })
        .workers(workers)
        // Database work runs on each worker's blocking pool: more threads than connections
        // would only wait for one, and every extra thread keeps its own allocator arena.
        .worker_max_blocking_threads(blocking_threads)
        // SIGTERM/SIGINT: stop accepting, let in-flight requests finish (up to 30 s).
        .shutdown_timeout(30)
        .listen(listener)?
        .run();
        Ok(Self { port, server, tasks })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server from outside (tests).
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serves until the server is stopped (SIGINT/SIGTERM: in-flight requests finish first).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let result = self.server.await;
        for task in self.tasks {
            task.abort();
        }
        result
    }
}
