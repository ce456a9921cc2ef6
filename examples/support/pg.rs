//! A throwaway PostgreSQL cluster, and connections that know when the server
//! has let go of them. Shared by `examples/tenants.rs` and `tests/postgres.rs`.
//!
//! [`Cluster::start`] runs `initdb` into a new temporary directory and starts
//! the server there with `pg_ctl`: no TCP at all (its Unix socket is in that
//! directory), `fsync` off, the given `max_connections`. When this process
//! runs as root, `initdb` and the server run as the `postgres` user, as
//! PostgreSQL requires. The cluster is stopped (`pg_ctl stop -m immediate`)
//! and its directory removed by [`Cluster::stop`] or its drop, and also when
//! this process ends without either (a cluster kept in a `static`, an abort,
//! a signal): a watchdog process, started first, waits on a pipe from this
//! process and cleans up when the pipe closes.
//!
//! [`Cluster::connect`] connects over that socket. Its connection task ends
//! only once the server has hung up: after the client's goodbye (the
//! protocol's Terminate message, sent when the [`Client`] is dropped), the
//! backend exits, gives its slot back (the one `max_connections` counts) and
//! only then closes the socket. A client that awaits the task therefore knows
//! that the server no longer counts the connection.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::UnixStream;
use tokio::task::JoinHandle;
use tokio_postgres::config::SslMode;
use tokio_postgres::error::SqlState;
use tokio_postgres::tls::NoTlsStream;
use tokio_postgres::{Client, Config, NoTls};

/// The programs a cluster needs.
const PROGRAMS: [&str; 3] = ["initdb", "pg_ctl", "postgres"];
/// The port: only part of the socket's name, as the server listens on no
/// TCP address, and the socket is in a directory of its own.
const PORT: u16 = 5432;
/// The superuser that `initdb` creates, whatever user runs the server.
pub const SUPERUSER: &str = "postgres";

/// The first directory that holds `initdb`, `pg_ctl` and `postgres`: on
/// `PATH`, else in `/usr/lib/postgresql/<version>/bin` (Debian, Ubuntu;
/// newest first), `/usr/pgsql-<version>/bin` (Red Hat) or
/// `/usr/local/pgsql/bin` (a source build).
pub fn find_binaries() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default();
    let mut versioned = Vec::new();
    for (parent, prefix, tail) in [
        ("/usr/lib/postgresql", "", "bin"),
        ("/usr", "pgsql-", "bin"),
    ] {
        let Ok(entries) = fs::read_dir(parent) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(version) = name.strip_prefix(prefix) {
                if let Ok(major) = version.parse::<f64>() {
                    versioned.push((major, entry.path().join(tail)));
                }
            }
        }
    }
    versioned.sort_by(|a, b| b.0.total_cmp(&a.0));
    on_path
        .into_iter()
        .chain(versioned.into_iter().map(|(_, dir)| dir))
        .chain([PathBuf::from("/usr/local/pgsql/bin")])
        .find(|dir| {
            PROGRAMS
                .iter()
                .all(|program| is_executable(&dir.join(program)))
        })
}

fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// A running PostgreSQL cluster in a temporary directory of its own.
pub struct Cluster {
    bin: PathBuf,
    root: PathBuf,
    /// The user and group the server runs as, when this process is root.
    owner: Option<(u32, u32)>,
    /// Closing the pipe tells the watchdog to stop the server and remove
    /// `root`; it then exits.
    watchdog: Mutex<Option<(ChildStdin, Child)>>,
}

impl Cluster {
    /// Creates a cluster with `initdb` in a new temporary directory and
    /// starts it with `max_connections`. Blocks until the server accepts
    /// connections.
    pub fn start(bin: &Path, max_connections: usize) -> io::Result<Cluster> {
        static STARTED: AtomicUsize = AtomicUsize::new(0);
        let root = loop {
            let root = std::env::temp_dir().join(format!(
                "resourcepool-pg-{}-{}",
                std::process::id(),
                STARTED.fetch_add(1, Ordering::Relaxed)
            ));
            match fs::create_dir(&root) {
                Ok(()) => break root,
                // Left by an earlier process with the same id.
                Err(error) if error.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(error) => return Err(error),
            }
        };
        let mut cluster = Cluster {
            bin: bin.to_path_buf(),
            root,
            owner: None,
            watchdog: Mutex::new(None),
        };
        // Until the watchdog runs, an error removes the directory here.
        if let Err(error) = cluster.prepare() {
            let _ = fs::remove_dir_all(&cluster.root);
            return Err(error);
        }
        // From here on, dropping `cluster` cleans up, on error too.
        let data = cluster.data();
        cluster.run(
            "initdb",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-U".as_ref(),
                SUPERUSER.as_ref(),
                "--auth=trust".as_ref(),
                "--encoding=UTF8".as_ref(),
                "--locale=C".as_ref(),
                "--no-sync".as_ref(),
            ],
        )?;
        let conf = format!(
            "\n# A throwaway cluster: one Unix socket in {root}, no TCP, no durability.\n\
             listen_addresses = ''\n\
             unix_socket_directories = '{root}'\n\
             port = {PORT}\n\
             max_connections = {max_connections}\n\
             fsync = off\n\
             synchronous_commit = off\n\
             full_page_writes = off\n\
             wal_level = minimal\n\
             max_wal_senders = 0\n\
             max_wal_size = '1GB'\n\
             autovacuum = off\n",
            root = cluster.root.display()
        );
        fs::OpenOptions::new()
            .append(true)
            .open(data.join("postgresql.conf"))?
            .write_all(conf.as_bytes())?;
        let log = cluster.log();
        cluster.run(
            "pg_ctl",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-l".as_ref(),
                log.as_os_str(),
                "-w".as_ref(),
                "-t".as_ref(),
                "60".as_ref(),
                "-s".as_ref(),
                "start".as_ref(),
            ],
        )?;
        Ok(cluster)
    }

    /// Hands the new directory to the server's user, if this process is
    /// root, and starts the watchdog.
    fn prepare(&mut self) -> io::Result<()> {
        fs::set_permissions(&self.root, fs::Permissions::from_mode(0o755))?;
        // The directory was just created by this process: it owns it.
        if fs::metadata(&self.root)?.uid() == 0 {
            let uid = id("-u")?;
            let gid = id("-g")?;
            std::os::unix::fs::chown(&self.root, Some(uid), Some(gid))?;
            self.owner = Some((uid, gid));
        }
        // `read` returns when the pipe closes: the cluster was stopped, or
        // this process ended, however it ended. In a process group of its own,
        // so that a Ctrl-C at the terminal does not end it first.
        let script = r#"read -r _
if [ -f "$2/postmaster.pid" ]; then "$1" -D "$2" -m immediate -w -t 30 -s stop >/dev/null 2>&1; fi
rm -rf "$3""#;
        let mut watchdog = self.command("sh");
        watchdog
            .arg("-c")
            .arg(script)
            .arg("watchdog")
            .arg(self.bin.join("pg_ctl"))
            .arg(self.data())
            .arg(&self.root)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut child = watchdog.spawn()?;
        let pipe = child.stdin.take().expect("stdin is piped");
        *self.watchdog.lock().unwrap() = Some((pipe, child));
        Ok(())
    }

    /// A command run as the server's user, in the cluster's directory, in a
    /// process group of its own (so is the server that `pg_ctl` starts).
    fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new(program);
        command
            .current_dir(&self.root)
            .env("LC_ALL", "C")
            .env("LANG", "C")
            .env_remove("PGDATA")
            .process_group(0);
        if let Some((uid, gid)) = self.owner {
            command.uid(uid).gid(gid);
        }
        command
    }

    /// Runs one of the server's programs to completion.
    fn run(&self, program: &str, args: &[&std::ffi::OsStr]) -> io::Result<()> {
        let output = self
            .command(self.bin.join(program))
            .args(args)
            .stdin(Stdio::null())
            .output()?;
        if output.status.success() {
            return Ok(());
        }
        let log = fs::read_to_string(self.log()).unwrap_or_default();
        let log_tail: Vec<_> = log.lines().rev().take(10).collect();
        Err(io::Error::other(format!(
            "{program} failed ({}): {}{}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
            log_tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
        )))
    }

    fn data(&self) -> PathBuf {
        self.root.join("data")
    }

    fn log(&self) -> PathBuf {
        self.root.join("server.log")
    }

    /// The cluster's directory (data, log, socket).
    pub fn dir(&self) -> &Path {
        &self.root
    }

    /// The server's Unix socket.
    pub fn socket(&self) -> PathBuf {
        self.root.join(format!(".s.PGSQL.{PORT}"))
    }

    /// How to log in to `database` as the superuser, under an
    /// `application_name` that tells this connection's backend apart in
    /// `pg_stat_activity`.
    pub fn config(&self, database: &str, application_name: &str) -> Config {
        let mut config = Config::new();
        config
            .user(SUPERUSER)
            .dbname(database)
            .application_name(application_name)
            .ssl_mode(SslMode::Disable);
        config
    }

    /// Connects. The caller spawns the [`Connection`], which does the
    /// client's I/O and ends once the server has hung up (see the module's
    /// docs); dropping the `Client` sends the goodbye.
    pub async fn connect(&self, config: &Config) -> Result<(Client, Connection), Error> {
        let socket = UnixStream::connect(self.socket()).await?;
        Ok(config.connect_raw(UntilHangUp::new(socket), NoTls).await?)
    }

    /// Connects, and spawns the connection on tokio: the task's handle says
    /// when the server has hung up.
    pub async fn connect_spawned(
        &self,
        config: &Config,
    ) -> Result<(Client, JoinHandle<()>), Error> {
        let (client, connection) = self.connect(config).await?;
        Ok((client, tokio::spawn(until_hang_up(connection))))
    }

    /// Creates `names`, each a copy of a template database in which `setup`
    /// (SQL) ran, four at a time.
    pub async fn create_databases(&self, names: &[String], setup: &str) -> Result<(), Error> {
        const TEMPLATE: &str = "tenant_template";
        let (admin, task) = self
            .connect_spawned(&self.config("postgres", "setup"))
            .await?;
        admin
            .batch_execute(&format!("CREATE DATABASE {TEMPLATE}"))
            .await?;
        let (template, template_task) = self
            .connect_spawned(&self.config(TEMPLATE, "setup"))
            .await?;
        template.batch_execute(setup).await?;
        // A template may not be copied while anyone is connected to it.
        drop(template);
        let _ = template_task.await;
        let mut copies = tokio::task::JoinSet::new();
        for chunk in names.chunks(names.len().div_ceil(4).max(1)) {
            let (client, task) = self
                .connect_spawned(&self.config("postgres", "setup"))
                .await?;
            let chunk = chunk.to_vec();
            copies.spawn(async move {
                for name in chunk {
                    client
                        .batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {TEMPLATE}"))
                        .await?;
                }
                drop(client);
                let _ = task.await;
                Ok::<(), Error>(())
            });
        }
        while let Some(copied) = copies.join_next().await {
            copied.expect("a CREATE DATABASE task panicked")?;
        }
        drop(admin);
        let _ = task.await;
        Ok(())
    }

    /// Stops the server (`pg_ctl stop -m immediate`) and removes the
    /// directory: closes the watchdog's pipe and waits for it. Idempotent.
    pub fn stop(&self) {
        let watchdog = self
            .watchdog
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some((pipe, mut child)) = watchdog {
            drop(pipe);
            let _ = child.wait();
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `id <flag> postgres`: the server's user or group id.
fn id(flag: &str) -> io::Result<u32> {
    let not_found = || {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!("running as root, and there is no `{SUPERUSER}` user to run the server as"),
        )
    };
    let output = Command::new("id").args([flag, SUPERUSER]).output()?;
    if !output.status.success() {
        return Err(not_found());
    }
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .map_err(|_| not_found())
}

/// A connection's I/O, to spawn: it ends once the server has hung up.
pub type Connection = tokio_postgres::Connection<UntilHangUp<UnixStream>, NoTlsStream>;

/// Drives a connection until the server has hung up. Its error, if any, is
/// the hang-up seen first by the reader, or the server's reason for it.
pub async fn until_hang_up(connection: Connection) {
    let _ = connection.await;
}

/// What connecting or a query fails with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot reach the server's socket: {0}")]
    Socket(#[from] io::Error),
    #[error(transparent)]
    Postgres(#[from] tokio_postgres::Error),
    #[error("the connection is closed")]
    Closed,
    #[error("the server did not hang up within {0:?}")]
    NoHangUp(Duration),
}

impl Error {
    /// The server refused the connection for want of a free slot: "sorry,
    /// too many clients already" (SQLSTATE 53300). That is transient when
    /// the server still counts connections that clients have closed.
    pub fn is_too_many_clients(&self) -> bool {
        matches!(self, Error::Postgres(error) if error.code() == Some(&SqlState::TOO_MANY_CONNECTIONS))
    }
}

/// A stream whose shutdown (what the connection does last, after the
/// Terminate message) ends only when the server hangs up: it half-closes its
/// side, then reads until end of file. A backend closes its socket only as
/// its process exits, after it has given its slot back.
pub struct UntilHangUp<S> {
    inner: S,
    half_closed: bool,
}

impl<S> UntilHangUp<S> {
    pub fn new(inner: S) -> Self {
        UntilHangUp {
            inner,
            half_closed: false,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for UntilHangUp<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for UntilHangUp<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if !self.half_closed {
            ready!(Pin::new(&mut self.inner).poll_shutdown(cx))?;
            self.half_closed = true;
        }
        let mut scratch = [0; 256];
        loop {
            let mut unread = ReadBuf::new(&mut scratch);
            match ready!(Pin::new(&mut self.inner).poll_read(cx, &mut unread)) {
                Ok(()) if unread.filled().is_empty() => return Poll::Ready(Ok(())),
                Ok(()) => continue, // after the goodbye: nothing the client needs
                Err(error) if error.kind() == io::ErrorKind::ConnectionReset => {
                    return Poll::Ready(Ok(()))
                }
                Err(error) => return Poll::Ready(Err(error)),
            }
        }
    }
}
