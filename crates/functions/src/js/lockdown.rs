//! The realm's lockdown, in Rust over the QuickJS C API: the override accessors
//! ([`enable_overrides`]), then the walk that freezes everything ([`lockdown`]).
//!
//! Every object reachable from the roots (the global object and the intrinsics that are not
//! properties of anything, which `prelude.js` collects) through prototypes and own
//! properties (values, getters and setters) is frozen; the global object only has its own
//! properties made read-only and non-configurable, so calls can still create globals.
//!
//! The same walk in JavaScript (`Reflect.ownKeys` + `Object.getOwnPropertyDescriptor` +
//! `Object.freeze`) took about 3 ms, most of it allocating one descriptor object per
//! property; here a property costs a lookup and, when it is still writable or configurable,
//! one flag update. About half of what remains is QuickJS creating the builtin methods it
//! otherwise creates on first access (~560 function objects, which must exist to be frozen).
#![allow(unsafe_code)]

use std::collections::HashSet;
use std::ffi::c_int;
use std::hash::{BuildHasherDefault, Hasher};
use std::mem::MaybeUninit;
use std::ptr;

use rquickjs::{qjs, Ctx, Value};

/// Freezes everything reachable from `roots` except `global`, whose own properties are
/// frozen but which stays extensible. Returns the number of objects visited.
///
/// Must run before any user code: the walk reads property descriptors, never calls getters,
/// but a Proxy among the roots could still run its traps.
pub(super) fn lockdown<'js>(
    ctx: &Ctx<'js>,
    roots: &[Value<'js>],
    global: &Value<'js>,
) -> rquickjs::Result<usize> {
    let raw = ctx.as_raw().as_ptr();
    let global = object_address(global);
    let mut pending = Pending {
        ctx: raw,
        values: Vec::with_capacity(512),
    };
    for root in roots {
        // SAFETY: `root` is a live value of this context; the duplicate is owned by `pending`,
        // which frees it.
        pending.push(unsafe { qjs::JS_DupValue(raw, root.as_raw()) });
    }
    let mut seen: HashSet<usize, BuildHasherDefault<AddressHasher>> =
        HashSet::with_capacity_and_hasher(1024, Default::default());
    while let Some(value) = pending.values.pop() {
        let object = Owned { ctx: raw, value };
        let address = object_address_raw(object.value);
        if !seen.insert(address) {
            continue;
        }
        // SAFETY: every call below gets this context and `object.value`, a live object owned
        // by `object`; each value handed back is owned and goes to `pending` (or is freed).
        unsafe {
            let proto = qjs::JS_GetPrototype(raw, object.value);
            if qjs::JS_IsException(proto) {
                return Err(rquickjs::Error::Exception);
            }
            pending.push(proto);
            let names = Names::of(raw, object.value)?;
            for atom in names.atoms() {
                let mut desc = MaybeUninit::<qjs::JSPropertyDescriptor>::uninit();
                // Creates a lazily-created builtin on the way (QuickJS's "autoinit").
                match qjs::JS_GetOwnProperty(raw, desc.as_mut_ptr(), object.value, atom) {
                    r if r < 0 => return Err(rquickjs::Error::Exception),
                    0 => continue,
                    _ => {}
                }
                // SAFETY: initialised by JS_GetOwnProperty, which returned 1.
                let desc = desc.assume_init();
                pending.push(desc.value);
                pending.push(desc.getter);
                pending.push(desc.setter);
                let flags = desc.flags as u32;
                let accessor = flags & qjs::JS_PROP_GETSET != 0;
                let open = flags & qjs::JS_PROP_CONFIGURABLE != 0
                    || (!accessor && flags & qjs::JS_PROP_WRITABLE != 0);
                if open {
                    // What Object.freeze does per property: clear configurable, and writable
                    // for data properties.
                    let mut update = qjs::JS_PROP_THROW | qjs::JS_PROP_HAS_CONFIGURABLE;
                    if !accessor {
                        update |= qjs::JS_PROP_HAS_WRITABLE;
                    }
                    if qjs::JS_DefineProperty(
                        raw,
                        object.value,
                        atom,
                        qjs::JS_UNDEFINED,
                        qjs::JS_UNDEFINED,
                        qjs::JS_UNDEFINED,
                        update as i32,
                    ) < 0
                    {
                        return Err(rquickjs::Error::Exception);
                    }
                }
            }
            if address != global && qjs::JS_PreventExtensions(raw, object.value) < 0 {
                return Err(rquickjs::Error::Exception);
            }
        }
    }
    Ok(seen.len())
}

/// Turns the data property `key` of `holder` into an accessor so that assigning it on an
/// object that inherits from `holder` defines an own property instead of failing on the
/// frozen prototype (the "override mistake"; SES's "moderate" enablements). Does nothing for
/// accessors, missing and non-configurable properties.
///
/// One C function serves as both getter and setter ([`override_accessor`]): a realm has ~70
/// such properties, and every function object made here is one more for the lockdown to
/// freeze and for the collector to walk (separate getters cost ~17 µs more per realm). It is a
/// function with data (holder, key, value) because the collector traces that data, so the
/// holder -> accessor -> holder cycle is freed with the realm; a Rust closure would hide it.
fn enable_override(ctx: *mut qjs::JSContext, holder: qjs::JSValue, key: qjs::JSAtom) -> Result {
    // SAFETY: `holder` is a live object of `ctx` and `key` a live atom; every value made or
    // handed back here is owned by a guard, and JS_NewCFunctionData and JS_DefineProperty
    // duplicate what they keep.
    unsafe {
        let mut desc = MaybeUninit::<qjs::JSPropertyDescriptor>::uninit();
        match qjs::JS_GetOwnProperty(ctx, desc.as_mut_ptr(), holder, key) {
            r if r < 0 => return Err(rquickjs::Error::Exception),
            0 => return Ok(()),
            _ => {}
        }
        // SAFETY: initialised by JS_GetOwnProperty, which returned 1.
        let desc = desc.assume_init();
        let value = Owned {
            ctx,
            value: desc.value,
        };
        drop(Owned {
            ctx,
            value: desc.getter,
        });
        drop(Owned {
            ctx,
            value: desc.setter,
        });
        let flags = desc.flags as u32;
        if flags & qjs::JS_PROP_GETSET != 0 || flags & qjs::JS_PROP_CONFIGURABLE == 0 {
            return Ok(());
        }
        let key_value = Owned {
            ctx,
            value: qjs::JS_AtomToValue(ctx, key),
        };
        if qjs::JS_IsException(key_value.value) {
            return Err(rquickjs::Error::Exception);
        }
        let mut data = [holder, key_value.value, value.value];
        let accessor = Owned {
            ctx,
            value: qjs::JS_NewCFunctionData(
                ctx,
                Some(override_accessor),
                1,
                0,
                3,
                data.as_mut_ptr(),
            ),
        };
        if qjs::JS_IsException(accessor.value) {
            return Err(rquickjs::Error::Exception);
        }
        // Same enumerability, no longer configurable (the lockdown freezes it next anyway).
        let update = qjs::JS_PROP_THROW
            | qjs::JS_PROP_HAS_GET
            | qjs::JS_PROP_HAS_SET
            | qjs::JS_PROP_HAS_CONFIGURABLE
            | qjs::JS_PROP_HAS_ENUMERABLE
            | (flags & qjs::JS_PROP_ENUMERABLE);
        if qjs::JS_DefineProperty(
            ctx,
            holder,
            key,
            qjs::JS_UNDEFINED,
            accessor.value,
            accessor.value,
            update as i32,
        ) < 0
        {
            return Err(rquickjs::Error::Exception);
        }
        Ok(())
    }
}

/// The accessor of an overridable property; its data is `[holder, key, value]`.
///
/// Called without an argument (as the getter) it returns the original value. Called with one
/// (as the setter) it fails on the holder itself as assigning a read-only property would, and
/// on any other object sets `key` when it is an own property or defines it (writable,
/// enumerable, configurable) otherwise, as the assignment would have done on an unfrozen
/// prototype.
unsafe extern "C" fn override_accessor(
    ctx: *mut qjs::JSContext,
    this: qjs::JSValue,
    argc: c_int,
    argv: *mut qjs::JSValue,
    _magic: c_int,
    data: *mut qjs::JSValue,
) -> qjs::JSValue {
    // SAFETY: QuickJS passes the three data values given to JS_NewCFunctionData and `argc`
    // arguments, all borrowed; what this returns, or hands to QuickJS, is owned.
    unsafe {
        let (holder, key, original) = (*data, *data.add(1), *data.add(2));
        if argc == 0 {
            return qjs::JS_DupValue(ctx, original);
        }
        let value = *argv;
        if !qjs::JS_IsObject(this) {
            return qjs::JS_ThrowTypeError(ctx, c"not an object".as_ptr());
        }
        let atom = qjs::JS_ValueToAtom(ctx, key);
        if atom == qjs::JS_ATOM_NULL {
            return qjs::JS_EXCEPTION;
        }
        let done = if qjs::JS_VALUE_GET_PTR(this) == qjs::JS_VALUE_GET_PTR(holder) {
            let name = qjs::JS_AtomToCStringLen(ctx, ptr::null_mut(), atom);
            if !name.is_null() {
                qjs::JS_ThrowTypeError(
                    ctx,
                    c"Cannot assign to read only property '%s' of a frozen intrinsic".as_ptr(),
                    name,
                );
                qjs::JS_FreeCString(ctx, name);
            }
            -1
        } else {
            match qjs::JS_GetOwnProperty(ctx, ptr::null_mut(), this, atom) {
                r if r < 0 => r,
                // `this[key] = value`, in strict mode (modules are).
                1 => qjs::JS_SetProperty(ctx, this, atom, qjs::JS_DupValue(ctx, value)),
                _ => qjs::JS_DefinePropertyValue(
                    ctx,
                    this,
                    atom,
                    qjs::JS_DupValue(ctx, value),
                    (qjs::JS_PROP_C_W_E | qjs::JS_PROP_THROW) as i32,
                ),
            }
        };
        qjs::JS_FreeAtom(ctx, atom);
        if done < 0 {
            qjs::JS_EXCEPTION
        } else {
            qjs::JS_UNDEFINED
        }
    }
}

/// Applies [`enable_override`] to `keys` of `holder`: an array of property keys, or `"*"` for
/// every own key.
pub(super) fn enable_overrides<'js>(holder: &Value<'js>, keys: &Value<'js>) -> Result {
    let ctx = holder.ctx().as_raw().as_ptr();
    let holder = holder.as_raw();
    // SAFETY: `holder` is a live value of `ctx` (checked to be an object before use) and each
    // atom is owned by `Names` or freed right after use.
    unsafe {
        if !qjs::JS_IsObject(holder) {
            return Err(rquickjs::Error::new_from_js("value", "object"));
        }
        if let Some(keys) = keys.as_array() {
            for key in keys.iter::<Value>() {
                let atom = qjs::JS_ValueToAtom(ctx, key?.as_raw());
                if atom == qjs::JS_ATOM_NULL {
                    return Err(rquickjs::Error::Exception);
                }
                let done = enable_override(ctx, holder, atom);
                qjs::JS_FreeAtom(ctx, atom);
                done?;
            }
        } else {
            let names = Names::of(ctx, holder)?;
            for atom in names.atoms() {
                enable_override(ctx, holder, atom)?;
            }
        }
    }
    Ok(())
}

type Result = rquickjs::Result<()>;

fn object_address(value: &Value<'_>) -> usize {
    object_address_raw(value.as_raw())
}

fn object_address_raw(value: qjs::JSValue) -> usize {
    // SAFETY: reading the tag and payload of a value does not dereference anything.
    unsafe {
        if qjs::JS_IsObject(value) {
            qjs::JS_VALUE_GET_PTR(value) as usize
        } else {
            0
        }
    }
}

/// Objects still to visit, each owning one reference.
struct Pending {
    ctx: *mut qjs::JSContext,
    values: Vec<qjs::JSValue>,
}

impl Pending {
    /// Keeps `value` when it is an object, frees it otherwise. Takes ownership either way.
    fn push(&mut self, value: qjs::JSValue) {
        // SAFETY: `value` is an owned value of `self.ctx`; freeing a value without a
        // reference count is a no-op, and other primitives (strings, symbols) are freed here.
        unsafe {
            if qjs::JS_IsObject(value) {
                self.values.push(value);
            } else if qjs::JS_VALUE_HAS_REF_COUNT(value) {
                qjs::JS_FreeValue(self.ctx, value);
            }
        }
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        for value in self.values.drain(..) {
            // SAFETY: every value in the stack is owned (see `push`).
            unsafe { qjs::JS_FreeValue(self.ctx, value) };
        }
    }
}

/// One owned reference, freed on drop.
struct Owned {
    ctx: *mut qjs::JSContext,
    value: qjs::JSValue,
}

impl Drop for Owned {
    fn drop(&mut self) {
        // SAFETY: `value` is owned by this guard.
        unsafe { qjs::JS_FreeValue(self.ctx, self.value) };
    }
}

/// An object's own property keys (strings and symbols), freed on drop.
struct Names {
    ctx: *mut qjs::JSContext,
    tab: *mut qjs::JSPropertyEnum,
    len: u32,
}

impl Names {
    /// # Safety
    /// `object` must be a live object of `ctx`.
    unsafe fn of(ctx: *mut qjs::JSContext, object: qjs::JSValue) -> rquickjs::Result<Self> {
        let mut tab = ptr::null_mut();
        let mut len = 0;
        let flags = (qjs::JS_GPN_STRING_MASK | qjs::JS_GPN_SYMBOL_MASK) as i32;
        // SAFETY: guaranteed by the caller; on success the table is owned by `Names`.
        if unsafe { qjs::JS_GetOwnPropertyNames(ctx, &mut tab, &mut len, object, flags) } < 0 {
            return Err(rquickjs::Error::Exception);
        }
        Ok(Names { ctx, tab, len })
    }

    fn atoms(&self) -> impl Iterator<Item = qjs::JSAtom> + '_ {
        // SAFETY: `tab` holds `len` initialised entries until `self` is dropped.
        (0..self.len as usize).map(move |i| unsafe { (*self.tab.add(i)).atom })
    }
}

impl Drop for Names {
    fn drop(&mut self) {
        // SAFETY: the table and its atoms are owned by `self`.
        unsafe { qjs::JS_FreePropertyEnum(self.ctx, self.tab, self.len) };
    }
}

/// A hash for object addresses: the visited set is hashed once per reachable reference, and
/// SipHash showed in profiles.
#[derive(Default)]
struct AddressHasher(u64);

impl Hasher for AddressHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_usize(&mut self, n: usize) {
        let x = (n as u64 >> 4).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        self.0 = x ^ (x >> 29);
    }
}
