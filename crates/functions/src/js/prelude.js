// The sandbox prelude: evaluated once per realm (QuickJS context) before any user code.
//
// It owns three things, and everything it defines is frozen before user code runs:
//   1. the globals a function may use beyond the language itself: console, setTimeout,
//      clearTimeout, setInterval, clearInterval, queueMicrotask;
//   2. the plan of the lockdown (`lockdownPlan`): the intrinsics that are not properties of
//      the global object, and the prototype properties that stay overridable on instances.
//      The host (lockdown.rs) then freezes every object reachable from the global object and
//      those intrinsics, and makes the global object's own properties read-only; new globals
//      stay possible and `reset()` deletes them after every call (the same lockdown written
//      in JavaScript took ~3 ms per realm);
//   3. the hooks the Rust host calls through this module's namespace (`call`, `reset`,
//      `nextTimer`, `runTimers`, `lockdownPlan`); the namespace is not importable, so user
//      code cannot reach them.
//
// The host passes its native log sink as `globalThis.__switchboard_host` and this module
// removes it from the global object before anything else runs.

const host = globalThis.__switchboard_host;
delete globalThis.__switchboard_host;
const hostLog = host.log;

const { apply } = Reflect;
const { stringify } = JSON;
const objectToString = Object.prototype.toString;
const MAX_INSPECT = 64 * 1024;

function errorText(e) {
  let head;
  try {
    head = `${e.name}: ${e.message}`;
  } catch {
    head = "Error";
  }
  let stack = "";
  try {
    stack = typeof e.stack === "string" ? e.stack : "";
  } catch {}
  stack = stack
    .split("\n")
    .filter((line) => !line.includes("switchboard:prelude"))
    .join("\n");
  // QuickJS puts only the frames in `stack`; V8 (and node) put the header first.
  if (stack.startsWith(head)) return stack.trimEnd();
  return stack ? `${head}\n${stack.trimEnd()}` : head;
}

function inspect(v) {
  switch (typeof v) {
    case "string":
      return v;
    case "undefined":
      return "undefined";
    case "bigint":
      return `${v}n`;
    case "symbol":
      return v.toString();
    case "function":
      return `[Function: ${v.name || "(anonymous)"}]`;
    case "number":
    case "boolean":
      return String(v);
  }
  if (v === null) return "null";
  if (v instanceof Error) return errorText(v);
  try {
    const seen = new WeakSet();
    const out = stringify(v, (_k, x) => {
      if (typeof x === "bigint") return `${x}n`;
      if (typeof x === "function") return `[Function: ${x.name || "(anonymous)"}]`;
      if (typeof x === "symbol") return x.toString();
      if (x === undefined) return undefined;
      if (typeof x === "object" && x !== null) {
        if (seen.has(x)) return "[Circular]";
        seen.add(x);
        if (x instanceof Map) return { "[Map]": [...x] };
        if (x instanceof Set) return { "[Set]": [...x] };
        if (x instanceof Error) return errorText(x);
      }
      return x;
    });
    if (out === undefined) return apply(objectToString, v, []);
    return out.length > MAX_INSPECT ? `${out.slice(0, MAX_INSPECT)}…` : out;
  } catch {
    return apply(objectToString, v, []);
  }
}

// printf-style substitutions as node does them: %s %d %i %f %j %o %O %c %%.
function format(args) {
  if (args.length === 0) return "";
  let rest = args;
  let out = "";
  if (typeof args[0] === "string" && args.length > 1 && args[0].includes("%")) {
    let i = 1;
    out = args[0].replace(/%([sdifjoOc%])/g, (m, c) => {
      if (c === "%") return "%";
      if (i >= args.length) return m;
      const a = args[i++];
      switch (c) {
        case "s":
          return typeof a === "string" ? a : inspect(a);
        case "d":
        case "i":
          return typeof a === "bigint" ? `${a}n` : String(c === "i" ? Math.trunc(Number(a)) : Number(a));
        case "f":
          return String(Number(a));
        case "c":
          return "";
        default:
          return inspect(a);
      }
    });
    rest = args.slice(i);
    return rest.length ? `${out} ${rest.map(inspect).join(" ")}` : out;
  }
  return rest.map(inspect).join(" ");
}

// Arrow functions here and below: no `prototype` object each for the lockdown to freeze.
const logger =
  (level) =>
  (...args) => {
    hostLog(level, format(args));
  };

const consoleObject = {
  log: logger(""),
  info: logger(""),
  debug: logger(""),
  trace: logger(""),
  warn: logger("WARN: "),
  error: logger("ERROR: "),
};

// Timers run on the host's clock while the call lasts; the host sleeps until the next one is
// due when nothing else is runnable. Timers still pending when a call ends are cancelled.
let timers = new Map();
let nextTimerId = 1;

function addTimer(fn, ms, args, repeat) {
  if (typeof fn !== "function") throw new TypeError("timer callback must be a function");
  const delay = Math.max(0, Number(ms) || 0);
  const id = nextTimerId++;
  timers.set(id, { at: Date.now() + delay, fn, args, every: repeat ? Math.max(1, delay) : 0 });
  return id;
}

const setTimeout = (fn, ms, ...args) => addTimer(fn, ms, args, false);
const setInterval = (fn, ms, ...args) => addTimer(fn, ms, args, true);
const clearTimer = (id) => {
  timers.delete(id);
};
const queueMicrotask = (fn) => {
  if (typeof fn !== "function") throw new TypeError("queueMicrotask: callback must be a function");
  Promise.resolve().then(() => fn());
};

// Milliseconds until the next timer is due, or -1 when none is pending.
export function nextTimer() {
  let at = Infinity;
  for (const t of timers.values()) if (t.at < at) at = t.at;
  return at === Infinity ? -1 : Math.max(0, at - Date.now());
}

// Runs every timer that is due now, earliest first. Returns "" or, when a callback threw,
// the failure in the same "!E{...}" form as `call` (an uncaught error ends the call).
export function runTimers() {
  const now = Date.now();
  const due = [...timers].filter(([, t]) => t.at <= now).sort((a, b) => a[1].at - b[1].at || a[0] - b[0]);
  for (const [id, t] of due) {
    if (!timers.has(id)) continue;
    if (t.every) t.at = now + t.every;
    else timers.delete(id);
    try {
      apply(t.fn, undefined, t.args);
    } catch (e) {
      timers = new Map();
      return `!E${stringify(describe(e))}`;
    }
  }
  return "";
}

// Non-enumerable, as in node; the lockdown makes them read-only.
Object.defineProperties(globalThis, {
  console: { value: consoleObject },
  setTimeout: { value: setTimeout },
  setInterval: { value: setInterval },
  clearTimeout: { value: clearTimer },
  clearInterval: { value: clearTimer },
  queueMicrotask: { value: queueMicrotask },
});

// ---- lockdown -----------------------------------------------------------------------------

// Intrinsics that are not reachable as properties of the global object.
const hidden = [
  Object.getPrototypeOf(function* () {}),
  Object.getPrototypeOf(async function () {}),
  Object.getPrototypeOf(async function* () {}),
  Object.getPrototypeOf((function* () {})()),
  Object.getPrototypeOf((async function* () {})()),
  Object.getPrototypeOf([][Symbol.iterator]()),
  Object.getPrototypeOf(new Map()[Symbol.iterator]()),
  Object.getPrototypeOf(new Set()[Symbol.iterator]()),
  Object.getPrototypeOf(""[Symbol.iterator]()),
  Object.getPrototypeOf(/a/[Symbol.matchAll]("")),
  Object.getPrototypeOf(Int8Array),
  Object.getOwnPropertyDescriptor(Function.prototype, "caller")?.get,
  (function () {
    "use strict";
    return Object.getOwnPropertyDescriptor(arguments, "callee")?.get;
  })(),
];
if (typeof Iterator === "function") {
  try {
    hidden.push(Object.getPrototypeOf([].values().map((x) => x)));
    hidden.push(Object.getPrototypeOf(Iterator.from({ next: () => ({ done: true }) })));
  } catch {}
}

// Data properties of prototypes that ordinary code assigns on its own instances
// (`this.name = "MyError"`, `obj.toString = ...`). A frozen prototype would make such an
// assignment throw (the "override mistake"), so the host turns these into accessors whose
// setter defines the property on the instance instead ("*": every own property). The list
// follows SES's "moderate" enablements.
const overrides = [
  [Object.prototype, "*"],
  [Function.prototype, ["constructor", "bind", "toString", "name"]],
  [Error.prototype, ["constructor", "message", "name", "toString"]],
  [TypeError.prototype, ["constructor", "message", "name"]],
  [RangeError.prototype, ["message", "name"]],
  [SyntaxError.prototype, ["message", "name"]],
  [ReferenceError.prototype, ["message", "name"]],
  [EvalError.prototype, ["message", "name"]],
  [URIError.prototype, ["message", "name"]],
  [Array.prototype, ["toString", "push", "concat", Symbol.iterator]],
  [Promise.prototype, ["constructor"]],
  [Object.getPrototypeOf(Int8Array).prototype, "*"],
];
if (typeof AggregateError === "function") overrides.push([AggregateError.prototype, ["message", "name"]]);

// The standard globals. The lockdown makes them read-only and non-configurable, so after a
// call the global object is back to its baseline exactly when it has this many keys.
const baselineSize = Reflect.ownKeys(globalThis).length;

// What the host's lockdown needs: the roots it freezes everything reachable from (the global
// object itself stays extensible), and the overridable properties.
export function lockdownPlan() {
  return [[globalThis, ...hidden], overrides];
}

// Deletes everything a call added to the global object and cancels its timers. Returns false
// when the realm cannot be brought back to its baseline (say, a call made the global object
// non-extensible or added a non-configurable global); the host then discards the realm.
export function reset() {
  timers = new Map();
  nextTimerId = 1;
  if (!Object.isExtensible(globalThis)) return false;
  const keys = Reflect.ownKeys(globalThis);
  if (keys.length === baselineSize) return true;
  // The standard globals cannot be deleted; everything else the call added can, unless it
  // made it non-configurable.
  for (const key of keys) Reflect.deleteProperty(globalThis, key);
  return Reflect.ownKeys(globalThis).length === baselineSize;
}

function describe(e) {
  if (e instanceof Error) {
    let name = "Error";
    let message = "";
    let stack = "";
    try {
      name = String(e.name);
      message = String(e.message);
      stack = typeof e.stack === "string" ? e.stack : "";
    } catch {}
    stack = stack
      .split("\n")
      .filter((line) => !line.includes("switchboard:prelude"))
      .join("\n")
      .trimEnd();
    if (stack.startsWith(`${name}: `)) stack = stack.split("\n").slice(1).join("\n");
    const oom = name === "InternalError" && (message === "out of memory" || message === "Invalid error message");
    return { message: message ? `${name}: ${message}` : name, stack, oom };
  }
  // QuickJS throws null when memory runs out so completely that not even the error object
  // can be made. A function throwing null itself is indistinguishable, and reported the same.
  if (e === null) return { message: "Uncaught null", stack: "", oom: true };
  return { message: `Uncaught ${inspect(e)}`, stack: "", oom: false };
}

async function run(evaluated, ns, inputs) {
  await evaluated;
  let handle = ns.handle;
  if (typeof handle !== "function") {
    const d = ns.default;
    if (typeof d === "function") handle = d;
    else if (d !== null && typeof d === "object" && typeof d.handle === "function") handle = d.handle.bind(d);
    else return "!M";
  }
  const response = { data: {} };
  const request = { inputs: JSON.parse(inputs) };
  const value = await handle(request, response);
  let data;
  if (value === undefined || value === null || value === response) data = response.data;
  else if (typeof value === "object" && "data" in value) data = value.data;
  else data = value;
  const text = stringify(data);
  return text === undefined ? "null" : text;
}

// The per-call driver. `evaluated` is the promise of the user module's evaluation, `ns` its
// namespace, `inputs` the request inputs as JSON text. Resolves to the result as JSON text;
// to "!M" when the module has no `handle` function; to "!E" followed by a JSON
// {message, stack, oom} when the function threw or rejected. JSON text never starts with "!".
export async function call(evaluated, ns, inputs) {
  try {
    return await run(evaluated, ns, inputs);
  } catch (e) {
    return `!E${stringify(describe(e))}`;
  }
}
