//! `record!`: a document struct whose known keys are [`crate::Field`]s and whose other keys
//! are kept in `extra`, with a hand-rolled `Deserialize`.
//!
//! serde's `#[serde(flatten)]` buffers every object into an intermediate tree before
//! deserializing it, which made parsing a flow cost more than parsing its JSON; the visitor
//! here matches known keys without allocating and reads each value once. Serialization still
//! uses the derive (flatten is cheap on that side).

macro_rules! record {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$fmeta:meta])* $json:literal => $field:ident : $ty:ty, )*
        }
    ) => {
        record! { $(#[$meta])* pub struct $name { $( $(#[$fmeta])* $json => $field: $ty, )* } other keys in extra }
    };
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$fmeta:meta])* $json:literal => $field:ident : $ty:ty, )*
        } other keys in $extra:ident
    ) => {
        record! { @impl $(#[$meta])* pub struct $name { $( $(#[$fmeta])* $json => $field: $ty, )* } other keys in $extra, order [] }
    };
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$fmeta:meta])* $json:literal => $field:ident : $ty:ty, )*
        } other keys in $extra:ident, key order in $order:ident
    ) => {
        record! { @impl $(#[$meta])* pub struct $name { $( $(#[$fmeta])* $json => $field: $ty, )* } other keys in $extra, order [$order] }
    };
    (
        @impl
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$fmeta:meta])* $json:literal => $field:ident : $ty:ty, )*
        } other keys in $extra:ident, order [$($order:ident)?]
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
        pub struct $name {
            $(
                $(#[$fmeta])*
                #[serde(rename = $json, default, skip_serializing_if = "Field::is_absent")]
                pub $field: Field<$ty>,
            )*
            /// Keys this version does not know, kept in document order.
            #[serde(flatten)]
            pub $extra: Extra,
            $(
                /// The object's keys in the order they were read (not serialized; equal for
                /// every two values, so it never affects comparisons).
                #[serde(skip)]
                pub $order: crate::record::KeyOrder,
            )?
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                #[allow(non_camel_case_types)]
                enum Key { $( $field, )* Other(String) }
                #[allow(dead_code)]
                fn key_name(k: &Key) -> String {
                    match k { $( Key::$field => $json.to_string(), )* Key::Other(o) => o.clone() }
                }
                struct KeyVisitor;
                impl<'de> serde::de::Visitor<'de> for KeyVisitor {
                    type Value = Key;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str("a field name")
                    }
                    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Key, E> {
                        Ok(match s { $( $json => Key::$field, )* other => Key::Other(other.to_string()) })
                    }
                }
                impl<'de> serde::Deserialize<'de> for Key {
                    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Key, D::Error> {
                        d.deserialize_identifier(KeyVisitor)
                    }
                }
                struct V;
                impl<'de> serde::de::Visitor<'de> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str(concat!("a ", stringify!($name), " object"))
                    }
                    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<$name, A::Error> {
                        let mut out = $name::default();
                        while let Some(key) = map.next_key::<Key>()? {
                            $( out.$order.0.push(key_name(&key)); )?
                            match key {
                                $( Key::$field => out.$field = map.next_value()?, )*
                                Key::Other(k) => {
                                    let v: serde_json::Value = map.next_value()?;
                                    out.$extra.insert(k, v);
                                }
                            }
                        }
                        Ok(out)
                    }
                }
                d.deserialize_map(V)
            }
        }
    };
}

pub(crate) use record;

/// Keys of an object in the order they were read.
#[derive(Clone, Debug, Default)]
pub struct KeyOrder(pub Vec<String>);

impl PartialEq for KeyOrder {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}
