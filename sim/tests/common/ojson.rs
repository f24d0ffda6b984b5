//! A small JSON reader that keeps object keys in order (serde_json sorts them), and also
//! reads the JavaScript object literals of ANAF's e-Transport swagger pages (unquoted
//! keys, trailing commas). Used to compare answers with ANAF's examples field by field,
//! in order.
#![allow(dead_code)]

#[derive(Clone, Debug, PartialEq)]
pub enum J {
    Obj(Vec<(String, J)>),
    Arr(Vec<J>),
    Str(String),
    Num(String),
    Bool(bool),
    Null,
}

impl J {
    pub fn get(&self, key: &str) -> Option<&J> {
        match self {
            J::Obj(v) => v.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
    pub fn at(&self, path: &[&str]) -> &J {
        let mut cur = self;
        for p in path {
            cur = cur
                .get(p)
                .unwrap_or_else(|| panic!("no key {p:?} in {}", short(cur)));
        }
        cur
    }
    pub fn str(&self) -> &str {
        match self {
            J::Str(s) => s,
            other => panic!("not a string: {other:?}"),
        }
    }
    pub fn keys(&self) -> Vec<&str> {
        match self {
            J::Obj(v) => v.iter().map(|(k, _)| k.as_str()).collect(),
            _ => vec![],
        }
    }
}

fn short(j: &J) -> String {
    let s = format!("{j:?}");
    s.chars().take(200).collect()
}

pub fn parse(s: &str) -> J {
    let mut p = P {
        b: s.as_bytes(),
        i: 0,
    };
    let v = p.value();
    p.ws();
    assert!(
        p.i == p.b.len(),
        "trailing data at {} in {}",
        p.i,
        &s[..s.len().min(200)]
    );
    v
}

struct P<'a> {
    b: &'a [u8],
    i: usize,
}

impl P<'_> {
    fn ws(&mut self) {
        while self.i < self.b.len() && (self.b[self.i] as char).is_whitespace() {
            self.i += 1;
        }
    }
    fn value(&mut self) -> J {
        self.ws();
        match self.b[self.i] {
            b'{' => {
                self.i += 1;
                let mut v = Vec::new();
                loop {
                    self.ws();
                    if self.b[self.i] == b'}' {
                        self.i += 1;
                        return J::Obj(v);
                    }
                    let k = if self.b[self.i] == b'"' {
                        self.string()
                    } else {
                        let s = self.i;
                        while self.b[self.i].is_ascii_alphanumeric()
                            || self.b[self.i] == b'_'
                            || self.b[self.i] == b'$'
                        {
                            self.i += 1;
                        }
                        String::from_utf8(self.b[s..self.i].to_vec()).unwrap()
                    };
                    self.ws();
                    assert_eq!(self.b[self.i], b':', "expected ':' at {}", self.i);
                    self.i += 1;
                    let val = self.value();
                    v.push((k, val));
                    self.ws();
                    if self.b[self.i] == b',' {
                        self.i += 1;
                    }
                }
            }
            b'[' => {
                self.i += 1;
                let mut v = Vec::new();
                loop {
                    self.ws();
                    if self.b[self.i] == b']' {
                        self.i += 1;
                        return J::Arr(v);
                    }
                    v.push(self.value());
                    self.ws();
                    if self.b[self.i] == b',' {
                        self.i += 1;
                    }
                }
            }
            b'"' => J::Str(self.string()),
            b'\'' => J::Str(self.js_single()),
            b't' => {
                self.i += 4;
                J::Bool(true)
            }
            b'f' => {
                self.i += 5;
                J::Bool(false)
            }
            b'n' => {
                self.i += 4;
                J::Null
            }
            _ => {
                let s = self.i;
                while self.i < self.b.len() && b"-+.eE0123456789".contains(&self.b[self.i]) {
                    self.i += 1;
                }
                assert!(self.i > s, "unexpected {:?} at {}", self.b[s] as char, s);
                J::Num(String::from_utf8(self.b[s..self.i].to_vec()).unwrap())
            }
        }
    }
    /// A JavaScript single-quoted string ('…' with \r \n \' \" \\ escapes).
    fn js_single(&mut self) -> String {
        self.i += 1;
        let mut out = Vec::new();
        while self.b[self.i] != b'\'' {
            if self.b[self.i] == b'\\' {
                self.i += 1;
                out.push(match self.b[self.i] {
                    b'n' => b'\n',
                    b'r' => b'\r',
                    b't' => b'\t',
                    c => c,
                });
            } else {
                out.push(self.b[self.i]);
            }
            self.i += 1;
        }
        self.i += 1;
        String::from_utf8(out).unwrap()
    }

    fn string(&mut self) -> String {
        // Reuse serde_json for escapes: find the closing quote first.
        let s = self.i;
        self.i += 1;
        while self.b[self.i] != b'"' {
            if self.b[self.i] == b'\\' {
                self.i += 1;
            }
            self.i += 1;
        }
        self.i += 1;
        serde_json::from_slice(&self.b[s..self.i]).unwrap()
    }
}

/// Compares an answer with ANAF's example: same keys in the same order, same values,
/// except that keys in `volatile` only need the same kind of value (string / number).
/// Arrays: every actual element is compared with the example's first element.
pub fn same_shape(expected: &J, actual: &J, volatile: &[&str]) -> Result<(), String> {
    shape(expected, actual, volatile, "$")
}

fn shape(e: &J, a: &J, vol: &[&str], path: &str) -> Result<(), String> {
    match (e, a) {
        (J::Obj(ev), J::Obj(av)) => {
            let ek: Vec<&str> = ev.iter().map(|(k, _)| k.as_str()).collect();
            let ak: Vec<&str> = av.iter().map(|(k, _)| k.as_str()).collect();
            if ek != ak {
                return Err(format!("{path}: keys {ak:?}, ANAF has {ek:?}"));
            }
            for ((k, ev), (_, av)) in ev.iter().zip(av) {
                let p = format!("{path}.{k}");
                if vol.contains(&k.as_str()) {
                    let kind = |j: &J| std::mem::discriminant(j);
                    if kind(ev) != kind(av) {
                        return Err(format!("{p}: {av:?} is not the same kind as ANAF's {ev:?}"));
                    }
                } else {
                    shape(ev, av, vol, &p)?;
                }
            }
            Ok(())
        }
        (J::Arr(ev), J::Arr(av)) => {
            if let Some(first) = ev.first() {
                if av.is_empty() {
                    return Err(format!("{path}: empty array, ANAF's example has items"));
                }
                for (i, x) in av.iter().enumerate() {
                    shape(first, x, vol, &format!("{path}[{i}]"))?;
                }
            }
            Ok(())
        }
        (e, a) if e == a => Ok(()),
        (e, a) => Err(format!("{path}: {a:?}, ANAF has {e:?}")),
    }
}
