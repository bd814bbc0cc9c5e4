//! JSON without the fields a record leaves out, written in one pass.
//!
//! [`to_vec`] writes what `serde_json::to_value`, then [`prune`], then
//! `serde_json::to_vec` would, byte for byte, without building the tree of values:
//! each object's fields are written as they come, those left out are dropped, and the
//! rest are put in the order of their names (the order `serde_json::Map` keeps).
//! `history.json` writes 20,000 documents a build this way.

use serde::ser::{self, Serialize};
use serde_json::Value;

/// What is left out of an object: a field named in `left_out`, and one whose value
/// is null, false or an empty list (but a field named `markets`, where an empty list
/// and none differ).
fn kept(name: &str, json: &[u8], left_out: &[&str]) -> bool {
    !(left_out.contains(&name)
        || json == b"null"
        || json == b"false"
        || (name != "markets" && json == b"[]"))
}

/// `value` as JSON without what [`kept`] leaves out, its objects' fields in name order.
pub fn to_vec<T: Serialize + ?Sized>(value: &T, left_out: &[&str]) -> serde_json::Result<Vec<u8>> {
    value.serialize(Pruning { left_out })
}

type Error = serde_json::Error;

#[derive(Clone, Copy)]
struct Pruning<'l> {
    left_out: &'l [&'l str],
}

/// A value with nothing to prune, as serde_json writes it.
fn leaf<T: Serialize + ?Sized>(v: &T) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(v)
}

/// An array being written: its items' JSON.
struct Seq<'l> {
    to: Pruning<'l>,
    items: Vec<Vec<u8>>,
    /// Within `{"variant": …}`, for a tuple variant.
    variant: Option<&'static str>,
}

impl Seq<'_> {
    fn push<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
        self.items.push(v.serialize(self.to)?);
        Ok(())
    }

    fn done(self) -> Result<Vec<u8>, Error> {
        let len = self.items.iter().map(|i| i.len() + 1).sum::<usize>() + 2;
        let mut out = Vec::with_capacity(len);
        out.push(b'[');
        for (i, item) in self.items.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(item);
        }
        out.push(b']');
        within(self.to, self.variant, out)
    }
}

/// An object being written: its fields kept so far, and the name of a map's entry
/// whose value is yet to come.
struct Obj<'l> {
    to: Pruning<'l>,
    fields: Vec<(String, Vec<u8>)>,
    name: Option<String>,
    /// Within `{"variant": …}`, for a struct variant.
    variant: Option<&'static str>,
}

impl<'l> Obj<'l> {
    fn new(to: Pruning<'l>) -> Self {
        Obj {
            to,
            fields: Vec::new(),
            name: None,
            variant: None,
        }
    }

    fn field(&mut self, name: String, json: Vec<u8>) {
        self.fields.push((name, json));
    }

    fn done(mut self) -> Result<Vec<u8>, Error> {
        // In name order, and of equal names the last, as a map of names keeps them;
        // then left out or not.
        self.fields.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out = Vec::with_capacity(
            self.fields
                .iter()
                .map(|(n, j)| n.len() + j.len() + 4)
                .sum::<usize>()
                + 2,
        );
        out.push(b'{');
        let mut first = true;
        for (i, (name, json)) in self.fields.iter().enumerate() {
            if self.fields.get(i + 1).is_some_and(|next| next.0 == *name)
                || !kept(name, json, self.to.left_out)
            {
                continue;
            }
            if !first {
                out.push(b',');
            }
            first = false;
            serde_json::to_writer(&mut out, name)?;
            out.push(b':');
            out.extend_from_slice(json);
        }
        out.push(b'}');
        within(self.to, self.variant, out)
    }
}

/// `json` as it is, or within `{"variant": …}` for a variant of an enum.
fn within(to: Pruning, variant: Option<&'static str>, json: Vec<u8>) -> Result<Vec<u8>, Error> {
    match variant {
        None => Ok(json),
        Some(name) => {
            let mut obj = Obj::new(to);
            obj.field(name.to_string(), json);
            obj.done()
        }
    }
}

/// A map's key as the name of a field, as `serde_json::to_value` takes it: a string,
/// or a number, a bool or a char written as one.
fn name_of<T: Serialize + ?Sized>(key: &T) -> Result<String, Error> {
    match serde_json::to_value(key)? {
        Value::String(s) => Ok(s),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        _ => Err(ser::Error::custom("a key must be a string")),
    }
}

impl<'l> ser::Serializer for Pruning<'l> {
    type Ok = Vec<u8>;
    type Error = Error;
    type SerializeSeq = Seq<'l>;
    type SerializeTuple = Seq<'l>;
    type SerializeTupleStruct = Seq<'l>;
    type SerializeTupleVariant = Seq<'l>;
    type SerializeMap = Obj<'l>;
    type SerializeStruct = Obj<'l>;
    type SerializeStructVariant = Obj<'l>;

    fn serialize_bool(self, v: bool) -> Result<Vec<u8>, Error> {
        leaf(&v)
    }
    fn serialize_i8(self, v: i8) -> Result<Vec<u8>, Error> {
        leaf(&v)
    }
    fn serialize_i16(self, v: i16) -> Result<Vec<u8>, Error> {
        leaf(&v)
    }
    fn serialize_i32(self, v: i32) -> Result<Vec<u8>, Error> {
        leaf(&v)
    }
    fn serialize_i64(self, v: i64) -> Result<Vec<u8>, Error> {
        leaf(&v)
    }
    fn serialize_i128(self, v: i128) -> Result<Vec<u8>, Error> {
        leaf(&v)
    }
    fn serialize_u8(self, v: u8) -> Result<Vec<u8>, Error> {
        leaf(&v)
    }
    fn serialize_u16(self, v: u16) -> Result<Vec<u8>, Error> {
        leaf(&v)
    }
    fn serialize_u32(self, v: u32) -> Result<Vec<u8>, Error> {
        leaf(&v)
    }
    fn serialize_u64(self, v: u64) -> Result<Vec<u8>, Error> {
        leaf(&v)
    }
    fn serialize_u128(self, v: u128) -> Result<Vec<u8>, Error> {
        leaf(&v)
    }
    fn serialize_f32(self, v: f32) -> Result<Vec<u8>, Error> {
        leaf(&v)
    }
    fn serialize_f64(self, v: f64) -> Result<Vec<u8>, Error> {
        leaf(&v)
    }
    fn serialize_char(self, v: char) -> Result<Vec<u8>, Error> {
        leaf(&v)
    }
    fn serialize_str(self, v: &str) -> Result<Vec<u8>, Error> {
        leaf(v)
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Vec<u8>, Error> {
        leaf(v)
    }
    fn serialize_none(self) -> Result<Vec<u8>, Error> {
        Ok(b"null".to_vec())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<Vec<u8>, Error> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<Vec<u8>, Error> {
        Ok(b"null".to_vec())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<Vec<u8>, Error> {
        Ok(b"null".to_vec())
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<Vec<u8>, Error> {
        leaf(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        v: &T,
    ) -> Result<Vec<u8>, Error> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        v: &T,
    ) -> Result<Vec<u8>, Error> {
        within(self, Some(variant), v.serialize(self)?)
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Seq<'l>, Error> {
        Ok(Seq {
            to: self,
            items: Vec::with_capacity(len.unwrap_or(0)),
            variant: None,
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<Seq<'l>, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<Seq<'l>, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Seq<'l>, Error> {
        let mut seq = self.serialize_seq(Some(len))?;
        seq.variant = Some(variant);
        Ok(seq)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Obj<'l>, Error> {
        Ok(Obj::new(self))
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Obj<'l>, Error> {
        Ok(Obj::new(self))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Obj<'l>, Error> {
        let mut obj = Obj::new(self);
        obj.variant = Some(variant);
        Ok(obj)
    }
}

/// The traits of an array being written, each adding an item and ending the same way.
macro_rules! items {
    ($($trait:ident :: $add:ident),*) => {$(
        impl ser::$trait for Seq<'_> {
            type Ok = Vec<u8>;
            type Error = Error;
            fn $add<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
                self.push(v)
            }
            fn end(self) -> Result<Vec<u8>, Error> {
                self.done()
            }
        }
    )*};
}

items!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

impl ser::SerializeMap for Obj<'_> {
    type Ok = Vec<u8>;
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.name = Some(name_of(key)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
        let name = self
            .name
            .take()
            .ok_or_else(|| ser::Error::custom("a map's value before its key"))?;
        let json = v.serialize(self.to)?;
        self.field(name, json);
        Ok(())
    }
    fn end(self) -> Result<Vec<u8>, Error> {
        self.done()
    }
}

/// The traits of an object being written field by field.
macro_rules! fields {
    ($($trait:ident),*) => {$(
        impl ser::$trait for Obj<'_> {
            type Ok = Vec<u8>;
            type Error = Error;
            fn serialize_field<T: Serialize + ?Sized>(
                &mut self,
                name: &'static str,
                v: &T,
            ) -> Result<(), Error> {
                let json = v.serialize(self.to)?;
                self.field(name.to_string(), json);
                Ok(())
            }
            fn end(self) -> Result<Vec<u8>, Error> {
                self.done()
            }
        }
    )*};
}

fields!(SerializeStruct, SerializeStructVariant);

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;
    use std::collections::{BTreeMap, HashMap};

    /// Leaves out of every object in `v` what [`kept`] does not keep: on the tree of
    /// values, as the record was first written.
    fn prune(v: &mut Value, left_out: &[&str]) {
        match v {
            Value::Object(map) => {
                map.retain(|k, x| {
                    !(left_out.contains(&k.as_str())
                        || x.is_null()
                        || *x == Value::Bool(false)
                        || (k != "markets" && x.as_array().is_some_and(Vec::is_empty)))
                });
                map.values_mut().for_each(|x| prune(x, left_out));
            }
            Value::Array(items) => items.iter_mut().for_each(|x| prune(x, left_out)),
            _ => {}
        }
    }

    /// What the record wrote before: the tree of values, pruned, then written.
    fn through_values<T: Serialize>(v: &T, left_out: &[&str]) -> String {
        let mut value = serde_json::to_value(v).unwrap();
        prune(&mut value, left_out);
        serde_json::to_string(&value).unwrap()
    }

    fn written<T: Serialize>(v: &T, left_out: &[&str]) -> String {
        String::from_utf8(to_vec(v, left_out).unwrap()).unwrap()
    }

    #[derive(Serialize)]
    enum Kind {
        Unit,
        New(Option<u8>),
        Tuple(u8, Option<u8>, Vec<u8>),
        Fields { a: Option<u8>, b: bool, zz: f64 },
    }

    #[derive(Serialize)]
    struct Inner {
        z: &'static str,
        a: Option<&'static str>,
        empty: Vec<u8>,
        markets: Vec<String>,
        nothing: (),
    }

    #[derive(Serialize)]
    struct Outer {
        zeta: u32,
        #[serde(flatten)]
        inner: Inner,
        alpha: Vec<Inner>,
        flags: [bool; 2],
        map: HashMap<u32, Kind>,
        kinds: Vec<Kind>,
        text: String,
        hidden: &'static str,
        nested: BTreeMap<String, Option<Vec<Option<u8>>>>,
        number: f64,
        bytes: serde_bytes_like::Bytes,
    }

    /// Bytes written as serde writes a byte slice.
    mod serde_bytes_like {
        pub struct Bytes(pub Vec<u8>);
        impl serde::Serialize for Bytes {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_bytes(&self.0)
            }
        }
    }

    fn inner(z: &'static str, a: Option<&'static str>) -> Inner {
        Inner {
            z,
            a,
            empty: Vec::new(),
            markets: Vec::new(),
            nothing: (),
        }
    }

    #[test]
    fn writes_what_the_pruned_tree_of_values_writes() {
        let outer = Outer {
            zeta: 7,
            inner: inner("z \"quoted\" é\u{2028}", None),
            alpha: vec![inner("", Some("a")), inner("b", None)],
            flags: [false, true],
            map: [
                (3, Kind::Unit),
                (20, Kind::New(None)),
                (1, Kind::New(Some(0))),
                (100, Kind::Tuple(1, None, Vec::new())),
                (
                    4,
                    Kind::Fields {
                        a: None,
                        b: false,
                        zz: f64::NAN,
                    },
                ),
                (
                    5,
                    Kind::Fields {
                        a: Some(2),
                        b: true,
                        zz: 1.5,
                    },
                ),
            ]
            .into_iter()
            .collect(),
            kinds: vec![Kind::Unit, Kind::New(Some(9))],
            text: "line\nbreak\t<tag>".into(),
            hidden: "left out",
            nested: [
                ("b".to_string(), Some(vec![None, Some(1)])),
                ("a".to_string(), None),
                ("c".to_string(), Some(Vec::new())),
            ]
            .into_iter()
            .collect(),
            number: -0.25,
            bytes: serde_bytes_like::Bytes(vec![0, 255]),
        };
        for left_out in [&[][..], &["hidden", "z", "markets"][..]] {
            assert_eq!(
                written(&outer, left_out),
                through_values(&outer, left_out),
                "left out: {left_out:?}"
            );
        }
        let empty = Outer {
            zeta: 0,
            inner: inner("", None),
            alpha: Vec::new(),
            flags: [false, false],
            map: HashMap::new(),
            kinds: Vec::new(),
            text: String::new(),
            hidden: "",
            nested: BTreeMap::new(),
            number: 0.0,
            bytes: serde_bytes_like::Bytes(Vec::new()),
        };
        assert_eq!(written(&empty, &[]), through_values(&empty, &[]));
        assert_eq!(
            written(&empty, &["hidden"]),
            "{\"flags\":[false,false],\"map\":{},\"markets\":[],\"nested\":{},\"number\":0.0,\"text\":\"\",\"z\":\"\",\"zeta\":0}"
        );
    }

    #[test]
    fn a_name_given_twice_keeps_its_last_value_as_a_map_does() {
        #[derive(Serialize)]
        struct Twice {
            a: u8,
            #[serde(flatten)]
            more: BTreeMap<&'static str, u8>,
        }
        let twice = Twice {
            a: 1,
            more: [("a", 2), ("b", 3)].into_iter().collect(),
        };
        assert_eq!(written(&twice, &[]), "{\"a\":2,\"b\":3}");
        assert_eq!(written(&twice, &[]), through_values(&twice, &[]));
        // The last value left out leaves the name out, whatever came before it.
        #[derive(Serialize)]
        struct LastNull {
            a: u8,
            #[serde(flatten)]
            more: BTreeMap<&'static str, Option<u8>>,
        }
        let last_null = LastNull {
            a: 1,
            more: [("a", None)].into_iter().collect(),
        };
        assert_eq!(written(&last_null, &[]), "{}");
        assert_eq!(written(&last_null, &[]), through_values(&last_null, &[]));
    }

    #[test]
    fn a_value_of_the_tree_writes_itself_pruned() {
        let v = serde_json::json!({"b": [1, null, {"y": false, "x": []}], "a": {"markets": []}});
        assert_eq!(written(&v, &[]), through_values(&v, &[]));
        assert_eq!(
            written(&v, &[]),
            "{\"a\":{\"markets\":[]},\"b\":[1,null,{}]}"
        );
    }
}
