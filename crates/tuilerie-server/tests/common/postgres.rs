//! A real PostgreSQL for tests (Debian's, scripts/setup.sh installs it):
//! `initdb` in a temporary directory, started on a Unix socket in it (no
//! TCP port), stopped and removed on drop. As root it runs as the
//! `postgres` user, since initdb refuses root.

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Postgres {
    dir: PathBuf,
    bin: PathBuf,
    /// `postgres://postgres@localhost/tuilerie?host=DIR`
    pub url: String,
}

fn as_postgres(bin: &Path, tool: &str) -> Command {
    let root = Command::new("id").arg("-u").output().map(|o| o.stdout.starts_with(b"0")).unwrap_or(false);
    if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin.join(tool));
        c
    } else {
        Command::new(bin.join(tool))
    }
}

/// The newest installed server's binaries.
fn binaries() -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL is needed (scripts/setup.sh installs postgresql-15)")
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|b| b.join("initdb").is_file())
        .collect();
    versions.sort();
    versions.pop().expect("no initdb under /usr/lib/postgresql/*/bin")
}

impl Postgres {
    pub fn start(name: &str) -> Postgres {
        let bin = binaries();
        // A short path: the socket's must stay under 107 bytes.
        let dir = std::env::temp_dir().join(format!("tlr-pg-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let _ = Command::new("chown").arg("postgres").arg(&dir).status();
        let data = dir.join("data");
        let ok = as_postgres(&bin, "initdb")
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "-A", "trust", "--no-sync"])
            .output()
            .expect("initdb");
        assert!(ok.status.success(), "initdb: {}", String::from_utf8_lossy(&ok.stderr));
        let url = format!("postgres://postgres@localhost/tuilerie?host={}", dir.display());
        let pg = Postgres { url, dir, bin };
        pg.restart();
        let admin = format!("postgres://postgres@localhost/postgres?host={}", pg.dir.display());
        let mut c = postgres::Client::connect(&admin, postgres::NoTls).expect("connect to the test server");
        c.batch_execute("CREATE DATABASE tuilerie").unwrap();
        pg
    }

    /// Stops the server (fast shutdown: sessions are cut).
    pub fn stop(&self) {
        let ok = as_postgres(&self.bin, "pg_ctl")
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-m", "fast", "-w", "stop"])
            .output()
            .expect("pg_ctl stop");
        assert!(ok.status.success(), "pg_ctl stop: {}", String::from_utf8_lossy(&ok.stderr));
    }

    /// Starts the server (again, after `stop`).
    pub fn restart(&self) {
        let ok = as_postgres(&self.bin, "pg_ctl")
            .arg("-D")
            .arg(self.dir.join("data"))
            .arg("-l")
            .arg(self.dir.join("log"))
            .arg("-w")
            .arg("-o")
            .arg(format!("-k {} -c listen_addresses='' -c max_connections=50", self.dir.display()))
            .arg("start")
            .output()
            .expect("pg_ctl start");
        assert!(
            ok.status.success(),
            "pg_ctl start: {} {}",
            String::from_utf8_lossy(&ok.stderr),
            std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
        );
    }

    /// A plain client of the test database.
    pub fn client(&self) -> postgres::Client {
        postgres::Client::connect(&self.url, postgres::NoTls).unwrap()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = as_postgres(&self.bin, "pg_ctl")
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-m", "immediate", "stop"])
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
