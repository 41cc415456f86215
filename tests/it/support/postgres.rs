//! A throwaway PostgreSQL server for the tests: `initdb` on a temporary
//! directory, `postgres` on a free loopback port, one fresh database per
//! test. Started once per test binary from the machine's own binaries; it
//! dies with the test process (parent-death signal). A missing PostgreSQL is
//! a failure with instructions, never a silent skip.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

struct Server {
    port: u16,
    bin: PathBuf,
    ids: Option<(u32, u32)>,
    dir: PathBuf,
}

/// Started once; a failed start is kept so every test fails at once with it.
static SERVER: OnceLock<Result<Server, String>> = OnceLock::new();
static NEXT_DB: AtomicU32 = AtomicU32::new(0);

/// The URL of a new, empty database on the shared test server.
pub async fn fresh_database_url() -> String {
    let port = match SERVER.get_or_init(|| std::panic::catch_unwind(start).map_err(panic_message)) {
        Ok(server) => server.port,
        Err(why) => panic!("the test PostgreSQL server could not start: {why}"),
    };
    let name = format!("t{}_{}", std::process::id(), NEXT_DB.fetch_add(1, Ordering::Relaxed));
    let admin = format!("postgres://postgres@127.0.0.1:{port}/postgres");
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin).await.expect("connect to test postgres");
    sqlx::Executor::execute(&mut conn, sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))))
        .await
        .expect("create test database");
    format!("postgres://postgres@127.0.0.1:{port}/{name}")
}

fn panic_message(e: Box<dyn std::any::Any + Send>) -> String {
    e.downcast_ref::<String>().cloned().or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default()
}

/// The directory holding all of PostgreSQL's programs (`initdb` on PATH may
/// be a lone symlink into it).
fn bin_dir() -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .find_map(|dir| std::fs::canonicalize(dir.join("initdb")).ok())
        .and_then(|initdb| initdb.parent().map(Path::to_path_buf));
    let debian = || {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path().join("bin"))
            .filter(|d| d.join("initdb").is_file())
            .collect();
        dirs.sort();
        dirs.pop()
    };
    on_path.or_else(debian).unwrap_or_else(|| {
        panic!("PostgreSQL is not installed (no initdb found): run ./scripts/test, which installs it, or apt-get install postgresql")
    })
}

/// PostgreSQL refuses to run as root; drop to the `postgres` user (or
/// `nobody`) when the tests run as root, as CI does.
fn run_as() -> Option<(u32, u32)> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return None;
    }
    let passwd = std::fs::read_to_string("/etc/passwd").expect("read /etc/passwd");
    let entry = |user: &str| {
        passwd.lines().find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.first() == Some(&user)).then(|| (f[2].parse().unwrap(), f[3].parse().unwrap()))
        })
    };
    entry("postgres").or_else(|| entry("nobody")).or(Some((65534, 65534)))
}

fn command(bin: &Path, ids: Option<(u32, u32)>) -> Command {
    let mut cmd = Command::new(bin);
    if let Some((uid, gid)) = ids {
        cmd.uid(uid).gid(gid);
    }
    cmd
}

/// Removes data directories left by earlier test processes that are gone.
fn sweep_stale(tmp: &Path) {
    for entry in std::fs::read_dir(tmp).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(pid) = name.strip_prefix("deskbell-pg-")
            && !Path::new("/proc").join(pid).exists()
        {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

fn start() -> Server {
    let bin = bin_dir();
    let ids = run_as();
    let tmp = std::env::temp_dir();
    sweep_stale(&tmp);
    let dir = tmp.join(format!("deskbell-pg-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create postgres data dir");
    if let Some((uid, gid)) = ids {
        std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).expect("chown postgres data dir");
    }
    let data = dir.join("data");
    let status = command(&bin.join("initdb"), ids)
        .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale", "-D"])
        .arg(&data)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run initdb");
    assert!(status.success(), "initdb failed in {}", data.display());

    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let server = Server { port, bin, ids, dir };
    server.launch();
    server
}

impl Server {
    /// Starts `postgres` on the data directory and waits until it answers.
    fn launch(&self) {
        let (bin, dir, port) = (&self.bin, &self.dir, self.port);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("postgres.log"))
            .expect("open postgres log");
        let mut cmd = command(&bin.join("postgres"), self.ids);
        cmd.arg("-D")
            .arg(dir.join("data"))
            .args(["-p", &port.to_string(), "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="])
            .args(["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"])
            .args(["-c", "max_connections=300"])
            .stdout(Stdio::null())
            .stderr(log);
        // SAFETY: prctl is async-signal-safe; this runs in the child before exec.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                Ok(())
            });
        }
        // The parent-death signal follows the spawning *thread*, so spawn from a
        // thread that lives as long as the test process.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let child = cmd.spawn();
            tx.send(child.map(|c| c.id())).unwrap();
            loop {
                std::thread::park();
            }
        });
        rx.recv().unwrap().expect("spawn postgres");

        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = Command::new(bin.join("pg_isready"))
                .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-U", "postgres"])
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if ready {
                break;
            }
            assert!(Instant::now() < deadline, "postgres did not start; see {}", dir.join("postgres.log").display());
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// Stops the shared server as an operator would in a hurry (`pg_ctl stop
/// -m fast`: open connections are cut), keeps it down for `down`, and
/// starts it again (for the fault-injection benchmark).
#[allow(dead_code)]
pub fn restart(down: Duration) {
    let Some(Ok(server)) = SERVER.get() else { panic!("restart before the server started") };
    let status = command(&server.bin.join("pg_ctl"), server.ids)
        .args(["-D"])
        .arg(server.dir.join("data"))
        .args(["-m", "fast", "-w", "stop"])
        .stdout(Stdio::null())
        .status()
        .expect("run pg_ctl");
    assert!(status.success(), "pg_ctl stop failed");
    std::thread::sleep(down);
    server.launch();
}
