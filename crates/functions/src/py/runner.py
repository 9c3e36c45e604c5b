"""switchboard's Python function worker.

Started by the host as `python3 -I -S -B -u -c <this file> <memory-bytes>` with a scrubbed
environment and a private temporary working directory. It speaks JSON lines over the pipes it
was given as stdin and stdout, which it moves to private descriptors first: user code sees
/dev/null on fds 0 and 1, and `print` is captured into the call's logs.

Host -> worker, one line per call:
    {"id": 7, "key": "fn@3", "source": "def handle(...)..." | null, "inputs": {...}}
Worker -> host, any number of log frames then one final frame per call:
    {"id": 7, "log": "text"}
    {"id": 7, "ok": true, "result": ..., "recycle": false}
    {"id": 7, "ok": false, "kind": "compile|thrown|memory|needsource", "message": "...",
     "stack": "...", "recycle": false}
`recycle: true` asks the host to replace this worker: the call left something behind that a
later call could see (a thread, a changed builtin or environment variable) or ran out of memory.
Before the first call it writes {"ready": true, "version": "3.11.7"}.
"""

import os
import sys

MAX_LOG_BYTES = 1 << 20
SOURCE_NAME = "function.py"


def _fds():
    # No inherited descriptor survives, whatever the parent left open.
    try:
        os.closerange(3, 1 << 16)
    except OSError:
        pass
    pin, pout = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.close(null)
    return pin, pout


_PIN, _POUT = _fds()

import builtins  # noqa: E402
import resource  # noqa: E402
import _thread  # noqa: E402

try:
    import _json

    class _ScanContext:
        strict = True
        object_pairs_hook = None
        parse_float = float
        parse_int = int
        parse_constant = float
        memo = {}

        def __init__(self, hook):
            self.object_hook = hook

    def _encode_default(o):
        raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")

    def _dumps(obj, ascii=False):
        enc = _json.make_encoder(
            {},
            _encode_default,
            _json.encode_basestring_ascii if ascii else _json.encode_basestring,
            None,
            ":",
            ",",
            False,
            False,
            False,
        )
        return "".join(enc(obj, 0))

    _make_scanner = lambda hook: _json.make_scanner(_ScanContext(hook))  # noqa: E731
except ImportError:  # not CPython: fall back to the (slower to import) json package
    import json as _jsonpkg

    def _dumps(obj, ascii=False):
        return _jsonpkg.dumps(obj, ensure_ascii=ascii, allow_nan=False, separators=(",", ":"))

    def _make_scanner(hook):
        dec = _jsonpkg.JSONDecoder(object_hook=hook)
        return lambda s, i: dec.raw_decode(s, i)


class AttrDict(dict):
    """A dict whose keys also read as attributes, so `request.inputs.contact.phone` works
    as in JavaScript, as well as `request.inputs["contact"]["phone"]`."""

    __slots__ = ()

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name, value):
        self[name] = value

    def __delattr__(self, name):
        try:
            del self[name]
        except KeyError:
            raise AttributeError(name) from None


# Frames decode with AttrDict objects throughout, so `inputs` arrives ready for user code.
_scan_frame = _make_scanner(AttrDict)


def _send(frame):
    _write((_dumps(frame, ascii=True) + "\n").encode("ascii"))


class _Capture:
    """Stands in for sys.stdout and sys.stderr during a call: every complete line becomes a
    log frame at once, so the host keeps the logs of a call it later kills for its timeout."""

    encoding = "utf-8"
    errors = "replace"

    def __init__(self):
        self.call_id = None
        self.partial = ""
        self.sent = 0
        self.truncated = False

    def start(self, call_id):
        self.call_id = call_id
        self.partial = ""
        self.sent = 0
        self.truncated = False

    def write(self, s):
        if not isinstance(s, str):
            raise TypeError(f"write() argument must be str, not {type(s).__name__}")
        if self.truncated:
            return len(s)
        text = self.partial + s
        cut = text.rfind("\n")
        if cut < 0:
            self.partial = text
            if len(text) > MAX_LOG_BYTES:
                self.partial = ""
                self._emit(text)
        else:
            self.partial = text[cut + 1 :]
            self._emit(text[:cut])
        return len(s)

    def _emit(self, text):
        if self.sent + len(text) > MAX_LOG_BYTES:
            self.truncated = True
            _send({"id": self.call_id, "log": f"[logs truncated at {MAX_LOG_BYTES // 1024} KiB]"})
            return
        self.sent += len(text) + 1
        _send({"id": self.call_id, "log": text})

    def finish(self):
        if self.partial and not self.truncated:
            self._emit(self.partial)
        self.partial = ""

    def flush(self):
        pass

    def isatty(self):
        return False

    def writable(self):
        return True

    def fileno(self):
        import io

        raise io.UnsupportedOperation("captured stream has no file descriptor")


_capture = _Capture()


def _limit_memory(budget):
    # The cap covers the whole address space, so it is the interpreter's size at start plus the
    # function's budget plus room for what the worker itself loads later (asyncio).
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[0])
        current = pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        current = 64 << 20
    limit = current + budget + (48 << 20)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    fsize = 64 << 20
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))


class _NeedSource(Exception):
    pass


class _CompileError(Exception):
    pass


_codes = {}  # key -> (source, code object)
_CODE_CACHE_SIZE = 256


def _code_for(key, source):
    entry = _codes.get(key)
    if source is None:
        if entry is None:
            raise _NeedSource()
        return entry[1]
    if entry is not None and entry[0] == source:
        return entry[1]
    if "\0" in source:
        raise _CompileError("the source contains a NUL character")
    try:
        code = compile(source, SOURCE_NAME, "exec", dont_inherit=True)
    except SyntaxError as e:
        where = f" ({SOURCE_NAME}, line {e.lineno})" if e.lineno else ""
        raise _CompileError(f"{type(e).__name__}: {e.msg}{where}") from None
    except (ValueError, TypeError) as e:  # e.g. NUL bytes in the source
        raise _CompileError(f"{type(e).__name__}: {e}") from None
    if len(_codes) >= _CODE_CACHE_SIZE:
        _codes.pop(next(iter(_codes)))
    _codes[key] = (source, code)
    return code


def _format_stack(exc, source):
    lines = source.splitlines()
    out = []
    tb = exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_filename == SOURCE_NAME:
            out.append(f'  File "{SOURCE_NAME}", line {tb.tb_lineno}, in {code.co_name}')
            if 0 < tb.tb_lineno <= len(lines):
                out.append("    " + lines[tb.tb_lineno - 1].strip())
        tb = tb.tb_next
    head = "Traceback (most recent call last):\n" if out else ""
    return head + "\n".join(out + [_describe(exc)])


def _describe(exc):
    text = str(exc)
    name = type(exc).__name__
    return f"{name}: {text}" if text else name


_coroutine_type = None
_loop = None


def _is_coroutine(value):
    global _coroutine_type
    if _coroutine_type is None:

        async def probe():
            pass

        c = probe()
        _coroutine_type = type(c)
        c.close()
    return isinstance(value, _coroutine_type)


def _event_loop():
    global _loop
    if _loop is None or _loop.is_closed():
        import asyncio

        _loop = asyncio.new_event_loop()
    return _loop


def _await(coro):
    loop = _event_loop()
    try:
        return loop.run_until_complete(coro)
    finally:
        # Tasks the call left running are cancelled, like timers in JavaScript.
        import asyncio

        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for t in pending:
            t.cancel()
        if pending:
            try:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            except BaseException:
                pass


def _clean_dir(path):
    for entry in os.scandir(path):
        try:
            if entry.is_dir(follow_symlinks=False):
                _clean_dir(entry.path)
                os.rmdir(entry.path)
            else:
                os.unlink(entry.path)
        except OSError:
            pass


def _private_dir():
    # The directory emptied after every call: only the one the host made for this worker
    # (passed as argv[2], named switchboard-py-*, and the current directory), never whatever
    # directory the runner happens to be started in.
    try:
        given = os.path.realpath(sys.argv[2])
    except IndexError:
        return None
    if not os.path.basename(given).startswith("switchboard-py-"):
        return None
    if os.path.realpath(os.getcwd()) != given:
        return None
    return given


_HOME = _private_dir()
_ENV = dict(os.environ)
_BUILTINS = dict(builtins.__dict__)
_PATH = list(sys.path)


def _dirty():
    """True when the call left state behind that the next call could observe."""
    if _thread._count() > 0:
        return True
    current = builtins.__dict__
    if len(current) != len(_BUILTINS) or any(current.get(k) is not v for k, v in _BUILTINS.items()):
        return True
    return os.environ != _ENV or sys.path != _PATH


def _call(frame):
    _pending_recycle[0] = False
    call_id = frame.get("id")
    source = frame.get("source")
    key = frame.get("key") or ""
    try:
        code = _code_for(key, source)
    except _NeedSource:
        return {"id": call_id, "ok": False, "kind": "needsource", "message": "", "stack": ""}
    except _CompileError as e:
        return {"id": call_id, "ok": False, "kind": "compile", "message": str(e), "stack": ""}
    if source is None:
        source = _codes[key][0]
    inputs = frame.get("inputs")
    if inputs is None:
        inputs = AttrDict()

    _capture.start(call_id)
    saved = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = _capture
    recycle = False
    try:
        namespace = {"__name__": "function", "__builtins__": builtins}
        exec(code, namespace)
        handle = namespace.get("handle")
        if not callable(handle):
            return {
                "id": call_id,
                "ok": False,
                "kind": "compile",
                "message": f"{SOURCE_NAME} does not define handle(request, response)",
                "stack": "",
            }
        request = AttrDict(inputs=inputs)
        response = AttrDict(data=AttrDict())
        value = handle(request, response)
        if _is_coroutine(value):
            value = _await(value)
        if value is None or value is response:
            data = response.get("data")
        elif isinstance(value, dict) and "data" in value:
            data = value["data"]
        elif hasattr(value, "data") and not isinstance(value, dict):
            data = value.data
        else:
            data = value
        result = _dumps(data, ascii=True)
        return {"id": call_id, "ok": True, "result": _Raw(result)}
    except MemoryError:
        recycle = True
        return {"id": call_id, "ok": False, "kind": "memory", "message": "MemoryError", "stack": ""}
    except BaseException as e:  # SystemExit and KeyboardInterrupt too: the worker carries on
        return {
            "id": call_id,
            "ok": False,
            "kind": "thrown",
            "message": _describe(e),
            "stack": _format_stack(e, source),
        }
    finally:
        _capture.finish()
        sys.stdout, sys.stderr = saved
        if _HOME is not None:
            try:
                if os.getcwd() != _HOME:
                    os.chdir(_HOME)
                _clean_dir(_HOME)
            except OSError:
                recycle = True
        _pending_recycle[0] = recycle or _dirty()


_pending_recycle = [False]


class _Raw(str):
    """Already-encoded JSON, spliced into the final frame without a second encoding."""


def _reply(frame):
    result = frame.pop("result", None)
    frame["recycle"] = _pending_recycle[0]
    text = _dumps(frame, ascii=True)
    if isinstance(result, _Raw):
        text = text[:-1] + ',"result":' + result + "}"
    _write((text + "\n").encode("ascii"))


def _write(data):
    view = memoryview(data)
    while view:
        n = os.write(_POUT, view)
        view = view[n:]


def _prewarm_when_idle():
    # asyncio takes ~60 ms to import: do it while no call is waiting, so the first async call
    # does not pay for it.
    if _loop is not None:
        return
    import select

    ready, _, _ = select.select([_PIN], [], [], 0)
    if not ready:
        try:
            _event_loop()
        except Exception:
            pass


def main():
    budget = int(sys.argv[1]) if len(sys.argv) > 1 else 64 << 20
    _limit_memory(budget)
    reader = os.fdopen(_PIN, "rb", buffering=1 << 16)
    _send({"ready": True, "version": ".".join(map(str, sys.version_info[:3]))})
    _prewarm_when_idle()
    while True:
        line = reader.readline()
        if not line:
            return
        try:
            frame, _ = _scan_frame(line.decode("utf-8").rstrip("\n"), 0)
        except Exception as e:
            _send({"fatal": f"bad frame: {e}"})
            return
        reply = _call(frame)
        _reply(reply)
        if _pending_recycle[0]:
            return
        _prewarm_when_idle()


if __name__ == "__main__":
    try:
        main()
    except BaseException as e:  # report, then die: the host replaces the worker
        try:
            _send({"fatal": f"{type(e).__name__}: {e}"})
        except BaseException:
            pass
        os._exit(1)
