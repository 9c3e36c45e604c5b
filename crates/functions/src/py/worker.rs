//! One CPython worker process and the JSON-lines protocol spoken with `runner.py`.
//!
//! The worker is started with a scrubbed environment, a private temporary working directory
//! (removed when the worker is dropped), no inherited descriptors, and in its own process
//! group; the runner caps its address space with `RLIMIT_AS` before any user code runs. A call
//! that outlives its deadline gets the whole process group killed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use crate::logs::LogBuffer;
use crate::{FunctionError, FunctionSource, Language, Limits, Outcome};

const RUNNER: &str = include_str!("runner.py");
/// Run once with the server's own environment: reports the interpreter's absolute path (which
/// also skips version-manager shims such as pyenv's) and version, then the runner (read from
/// stdin) compiled and marshalled, so that workers do not compile it again (~7 ms each).
const PROBE: &str = "import sys, marshal
code = marshal.dumps(compile(sys.stdin.read(), 'switchboard-runner.py', 'exec'))
sys.stdout.buffer.write(('%s\\n%d.%d.%d\\n' % ((sys.executable,) + tuple(sys.version_info[:3]))).encode())
sys.stdout.buffer.write(code)";
/// A worker's `-c` program: reads the marshalled runner (a decimal length line, then the
/// bytes) from stdin and runs it; the protocol then continues on the same pipe.
const BOOT: &str = "import os, marshal
def _read(n):
    b = b''
    while len(b) < n:
        c = os.read(0, n - len(b))
        if not c:
            raise SystemExit(3)
        b += c
    return b
_h = b''
while not _h.endswith(b'\\n'):
    _h += _read(1)
exec(marshal.loads(_read(int(_h))), {'__name__': '__main__', '__builtins__': __builtins__})";
const MIN_VERSION: (u32, u32) = (3, 8);
const WORKER_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// A usable Python interpreter, found by [`resolve_python`].
#[derive(Clone)]
pub struct Python {
    /// Absolute path of the interpreter.
    pub executable: PathBuf,
    /// `major.minor.micro`.
    pub version: String,
    /// The worker runner, compiled by this interpreter and marshalled.
    runner: Arc<[u8]>,
}

impl std::fmt::Debug for Python {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Python")
            .field("executable", &self.executable)
            .field("version", &self.version)
            .finish()
    }
}

/// Finds the Python interpreter: `configured`, or `python3` on the `PATH`.
///
/// Fails with [`FunctionError::RuntimeUnavailable`] and a message meant for the function's
/// author when there is none or it is older than 3.8.
pub async fn resolve_python(configured: Option<&Path>) -> Result<Python, FunctionError> {
    let program = configured.unwrap_or(Path::new("python3"));
    let unavailable = |detail: String| {
        FunctionError::RuntimeUnavailable {
        message: format!(
            "Python functions need CPython {}.{} or newer, and {detail}; install python3 or configure the interpreter's path",
            MIN_VERSION.0, MIN_VERSION.1
        ),
    }
    };
    let probe = async {
        let mut child = Command::new(program)
            .args(["-I", "-S", "-B", "-c", PROBE])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        if let Some(mut stdin) = child.stdin.take() {
            // A failed write shows up as a failed probe below.
            let _ = stdin.write_all(RUNNER.as_bytes()).await;
        }
        child.wait_with_output().await
    };
    let out = match tokio::time::timeout(Duration::from_secs(20), probe).await {
        Err(_) => {
            return Err(unavailable(format!(
                "`{}` did not answer within 20 s",
                program.display()
            )))
        }
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(unavailable(format!(
                "`{}` was not found on the PATH",
                program.display()
            )))
        }
        Ok(Err(e)) => {
            return Err(unavailable(format!(
                "`{}` could not be started: {e}",
                program.display()
            )))
        }
        Ok(Ok(out)) => out,
    };
    let mut parts = out.stdout.splitn(3, |b| *b == b'\n');
    let executable = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let version = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let runner: Arc<[u8]> = parts.next().unwrap_or_default().into();
    if !out.status.success() || version.is_empty() || runner.is_empty() {
        return Err(unavailable(format!(
            "`{}` is not a working Python interpreter",
            program.display()
        )));
    }
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    if (major, minor) < MIN_VERSION {
        return Err(unavailable(format!(
            "`{}` is Python {version}",
            program.display()
        )));
    }
    let executable = Path::new(&executable);
    let executable = if executable.is_absolute() && executable.exists() {
        executable.to_path_buf()
    } else {
        program.to_path_buf()
    };
    Ok(Python {
        executable,
        version,
        runner,
    })
}

#[derive(serde::Serialize)]
struct Request<'a> {
    id: u64,
    key: &'a str,
    source: Option<&'a str>,
    inputs: &'a serde_json::Value,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct Frame {
    id: Option<u64>,
    ready: bool,
    version: Option<String>,
    fatal: Option<String>,
    log: Option<String>,
    ok: Option<bool>,
    result: serde_json::Value,
    kind: Option<String>,
    message: String,
    stack: String,
    recycle: bool,
}

/// A warm CPython process that runs functions one call at a time.
///
/// [`FunctionHost`](crate::FunctionHost) keeps a pool of these; the type is public for
/// benchmarks and tools. After a timeout, a crash, a memory error or a call that left state
/// behind, [`is_usable`](Self::is_usable) turns false and the worker must be replaced.
pub struct PythonWorker {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    /// Source text each key was last sent with (the worker keeps the compiled code).
    known: HashMap<String, String>,
    /// The longest frame accepted from the worker.
    max_frame: u64,
    /// The marshalled runner, written to stdin with the first request.
    boot: Option<Vec<u8>>,
    next_id: u64,
    ready: bool,
    usable: bool,
    version: Option<String>,
    line: String,
    /// Dropped last: the directory goes once the process is gone.
    dir: tempfile::TempDir,
}

impl PythonWorker {
    /// Starts a worker. It does not wait for the interpreter to be ready: the first call's
    /// request waits in the pipe meanwhile, which keeps a cold call as short as possible.
    pub fn spawn(python: &Python, limits: &Limits) -> Result<Self, FunctionError> {
        let dir = tempfile::Builder::new()
            .prefix("switchboard-py-")
            .tempdir()
            .map_err(|e| FunctionError::Internal(format!("creating a worker directory: {e}")))?;
        let mut cmd = Command::new(&python.executable);
        cmd.args(["-I", "-S", "-B", "-u", "-c", BOOT])
            .arg(limits.memory_bytes.to_string())
            .arg(dir.path())
            .env_clear()
            .env("PATH", WORKER_PATH)
            .env("LANG", "C.UTF-8")
            .env("LC_ALL", "C.UTF-8")
            .env("HOME", dir.path())
            .env("TMPDIR", dir.path())
            .current_dir(dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .process_group(0)
            .kill_on_drop(true);
        let mut child = cmd.spawn().map_err(|e| FunctionError::RuntimeUnavailable {
            message: format!(
                "could not start the Python interpreter `{}`: {e}",
                python.executable.display()
            ),
        })?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(FunctionError::Internal(
                "the worker's pipes are missing".into(),
            ));
        };
        let mut boot = format!("{}\n", python.runner.len()).into_bytes();
        boot.extend_from_slice(&python.runner);
        Ok(PythonWorker {
            boot: Some(boot),
            max_frame: u64::try_from(limits.memory_bytes)
                .unwrap_or(u64::MAX)
                .saturating_mul(2)
                .saturating_add(8 << 20),
            child,
            stdin,
            stdout: BufReader::with_capacity(64 * 1024, stdout),
            known: HashMap::new(),
            next_id: 0,
            ready: false,
            usable: true,
            version: None,
            line: String::new(),
            dir,
        })
    }

    /// False once the worker must not serve another call.
    pub fn is_usable(&self) -> bool {
        self.usable
    }

    /// The interpreter's version, once it has said so.
    pub fn version(&self) -> Option<&str> {
        self.version.as_deref()
    }

    /// The worker's private working directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Runs one call. `timeout` counts from now and includes compiling the source.
    pub async fn invoke(
        &mut self,
        f: &FunctionSource,
        inputs: &serde_json::Value,
        timeout: Duration,
    ) -> Result<Outcome, FunctionError> {
        let started = Instant::now();
        let deadline = tokio::time::Instant::from_std(started + timeout);
        if f.language != Language::Py {
            return Err(FunctionError::Internal(format!(
                "{} function sent to a Python worker",
                f.language
            )));
        }
        if !self.usable {
            return Err(FunctionError::Internal(
                "this Python worker can no longer be used".into(),
            ));
        }
        let mut logs = LogBuffer::default();
        let mut send_source = self.known.get(&f.key).is_none_or(|s| *s != f.source);
        for _ in 0..2 {
            self.next_id += 1;
            let id = self.next_id;
            let request = Request {
                id,
                key: &f.key,
                source: send_source.then_some(f.source.as_str()),
                inputs,
            };
            let mut bytes = self.boot.take().unwrap_or_default();
            serde_json::to_writer(&mut bytes, &request)
                .map_err(|e| FunctionError::Internal(format!("encoding the request: {e}")))?;
            bytes.push(b'\n');
            match tokio::time::timeout_at(deadline, self.stdin.write_all(&bytes)).await {
                Err(_) => return Err(self.timed_out(timeout, &mut logs).await),
                Ok(Err(e)) => {
                    return Err(self
                        .died(&format!("writing to it failed: {e}"), &mut logs)
                        .await)
                }
                Ok(Ok(())) => {}
            }
            let frame = match self.read_reply(id, deadline, &mut logs).await {
                Ok(frame) => frame,
                Err(Read::Timeout) => return Err(self.timed_out(timeout, &mut logs).await),
                Err(Read::Died(why)) => return Err(self.died(&why, &mut logs).await),
            };
            if frame.recycle {
                self.usable = false;
            }
            if frame.ok == Some(true) {
                self.known.insert(f.key.clone(), f.source.clone());
                return Ok(Outcome {
                    result: frame.result,
                    logs: logs.take(),
                    duration: started.elapsed(),
                });
            }
            let logs = logs.take();
            return Err(match frame.kind.as_deref() {
                Some("needsource") if !send_source => {
                    send_source = true;
                    continue;
                }
                Some("compile") => {
                    self.known.remove(&f.key);
                    FunctionError::Compile {
                        message: frame.message,
                    }
                }
                Some("memory") => {
                    self.usable = false;
                    FunctionError::MemoryLimit { logs }
                }
                Some("thrown") => {
                    self.known.insert(f.key.clone(), f.source.clone());
                    FunctionError::Thrown {
                        message: frame.message,
                        stack: frame.stack,
                        logs,
                    }
                }
                other => {
                    self.usable = false;
                    FunctionError::Internal(format!(
                        "unexpected reply from the Python worker: {other:?}"
                    ))
                }
            });
        }
        self.usable = false;
        Err(FunctionError::Internal(
            "the Python worker keeps asking for the source".into(),
        ))
    }

    async fn read_reply(
        &mut self,
        id: u64,
        deadline: tokio::time::Instant,
        logs: &mut LogBuffer,
    ) -> Result<Frame, Read> {
        loop {
            self.line.clear();
            // A frame can only be as large as what the worker's memory can hold; a longer one
            // is a broken (or forging) worker, not a reason to buffer without bound.
            let mut limited = (&mut self.stdout).take(self.max_frame);
            let n = match tokio::time::timeout_at(deadline, limited.read_line(&mut self.line)).await
            {
                Err(_) => return Err(Read::Timeout),
                Ok(Err(e)) => return Err(Read::Died(format!("reading from it failed: {e}"))),
                Ok(Ok(n)) => n,
            };
            if n == 0 {
                return Err(Read::Died("it exited".into()));
            }
            if !self.line.ends_with('\n') {
                return Err(Read::Died(if n as u64 >= self.max_frame {
                    format!("it sent a frame longer than {} MiB", self.max_frame >> 20)
                } else {
                    "it exited in the middle of a frame".into()
                }));
            }
            let frame: Frame = serde_json::from_str(&self.line)
                .map_err(|e| Read::Died(format!("it sent a malformed frame ({e})")))?;
            if let Some(fatal) = frame.fatal {
                return Err(Read::Died(format!("it failed: {fatal}")));
            }
            if frame.ready {
                self.ready = true;
                self.version = frame.version;
                continue;
            }
            if frame.id != Some(id) {
                return Err(Read::Died("it answered out of turn".into()));
            }
            if let Some(text) = &frame.log {
                logs.push("", text);
                continue;
            }
            return Ok(frame);
        }
    }

    async fn timed_out(&mut self, timeout: Duration, logs: &mut LogBuffer) -> FunctionError {
        // Answer now; the process group is killed and reaped by `kill`, which the pool runs in
        // the background (and dropping the worker kills the process in any case).
        self.usable = false;
        let _ = self.child.start_kill();
        FunctionError::Timeout {
            after: timeout,
            logs: logs.take(),
        }
    }

    async fn died(&mut self, why: &str, logs: &mut LogBuffer) -> FunctionError {
        self.kill().await;
        let status = self
            .child
            .try_wait()
            .ok()
            .flatten()
            .map(|s| format!(" ({s})"))
            .unwrap_or_default();
        if !self.ready {
            return FunctionError::RuntimeUnavailable {
                message: format!("the Python worker did not start: {why}{status}"),
            };
        }
        FunctionError::Thrown {
            message: format!("the Python worker stopped during the call: {why}{status}"),
            stack: String::new(),
            logs: logs.take(),
        }
    }

    /// Kills the worker's whole process group (anything the function started too) and reaps it.
    pub async fn kill(&mut self) {
        self.usable = false;
        if let Some(pid) = self.child.id() {
            // A function may have started processes of its own: they share the group.
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{pid}")])
                .env_clear()
                .env("PATH", WORKER_PATH)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .await;
        }
        let _ = self.child.start_kill();
        let _ = tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await;
    }
}

enum Read {
    Timeout,
    Died(String),
}
