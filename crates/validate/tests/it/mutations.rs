//! Damaged documents: every fixture, cut, spliced and retyped in a few thousand seeded ways,
//! must validate without a panic, the same way twice, and as a JSON tree validates the same
//! (when the damage leaves JSON without repeated keys).

use validate::{Mode, Options, Validator};

use crate::{choices, data_dir};

/// A small deterministic generator (xorshift): the same mutations on every run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }
}

fn mutate(doc: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut out = doc.to_vec();
    for _ in 0..=rng.below(3) {
        let at = rng.below(out.len());
        match rng.below(5) {
            0 => {
                let end = (at + rng.below(40)).min(out.len());
                out.drain(at..end);
            }
            1 => {
                let end = (at + rng.below(80)).min(out.len());
                let piece = out[at..end].to_vec();
                let to = rng.below(out.len());
                out.splice(to..to, piece);
            }
            2 => out.insert(at, b"{}[]\":,0a-\\"[rng.below(11)]),
            3 => {
                let token: &[u8] = [
                    &b"null"[..],
                    b"42",
                    b"\"x\"",
                    b"[]",
                    b"{}",
                    b"true",
                    b"\"{{ nope\"",
                ][rng.below(7)];
                out.splice(at..at, token.iter().copied());
            }
            _ => {
                if let Some(b) = out.get_mut(at) {
                    *b = b"{}[]\":,0a"[rng.below(9)];
                }
            }
        }
    }
    out
}

#[test]
fn damaged_documents_never_panic_and_read_the_same_as_trees() {
    let v = Validator::new(catalog::Catalog::builtin());
    let choices = choices();
    let mut rng = Rng(0x5eed_cafe_f00d_beef);
    let mut docs = Vec::new();
    for sub in ["ok", "err"] {
        for entry in std::fs::read_dir(data_dir().join(sub)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().and_then(|e| e.to_str()) == Some("json") {
                docs.push(std::fs::read(path).unwrap());
            }
        }
    }
    let (mut valid_json, mut compared) = (0, 0);
    for doc in &docs {
        for _ in 0..40 {
            let bytes = mutate(doc, &mut rng);
            for mode in [Mode::Lenient, Mode::Strict] {
                let opts = Options {
                    mode,
                    resolver: &choices,
                    ..Options::default()
                };
                let first = v.validate_bytes(&bytes, &opts);
                assert_eq!(first, v.validate_bytes(&bytes, &opts));
                let Ok(report) = first else { continue };
                valid_json += 1;
                // A tree keeps one value per key; compare only documents without repeats.
                if serde_json::from_slice::<NoRepeats>(&bytes).is_err() {
                    continue;
                }
                let tree: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
                compared += 1;
                let (_, from_tree) = v.validate_value(&tree, &opts);
                assert_eq!(
                    report,
                    from_tree,
                    "bytes and tree disagree on {}",
                    String::from_utf8_lossy(&bytes)
                );
            }
        }
    }
    assert!(
        valid_json > 100 && compared > 100,
        "{valid_json} {compared}"
    );
}

/// Any JSON value whose objects never repeat a key.
struct NoRepeats;

impl<'de> serde::Deserialize<'de> for NoRepeats {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NoRepeatsVisitor)
    }
}

struct NoRepeatsVisitor;

impl<'de> serde::de::Visitor<'de> for NoRepeatsVisitor {
    type Value = NoRepeats;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JSON without repeated keys")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<NoRepeats, A::Error> {
        let mut seen = std::collections::HashSet::new();
        while let Some(k) = map.next_key::<String>()? {
            if !seen.insert(k) {
                return Err(serde::de::Error::custom("repeated key"));
            }
            map.next_value::<NoRepeats>()?;
        }
        Ok(NoRepeats)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<NoRepeats, A::Error> {
        while seq.next_element::<NoRepeats>()?.is_some() {}
        Ok(NoRepeats)
    }
    fn visit_bool<E>(self, _: bool) -> Result<NoRepeats, E> {
        Ok(NoRepeats)
    }
    fn visit_i64<E>(self, _: i64) -> Result<NoRepeats, E> {
        Ok(NoRepeats)
    }
    fn visit_u64<E>(self, _: u64) -> Result<NoRepeats, E> {
        Ok(NoRepeats)
    }
    fn visit_f64<E>(self, _: f64) -> Result<NoRepeats, E> {
        Ok(NoRepeats)
    }
    fn visit_str<E>(self, _: &str) -> Result<NoRepeats, E> {
        Ok(NoRepeats)
    }
    fn visit_unit<E>(self) -> Result<NoRepeats, E> {
        Ok(NoRepeats)
    }
}
