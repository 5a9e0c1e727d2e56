//! Member paths of values being checked, built lazily: segments are pushed and popped while
//! walking and rendered to text only when something is reported.

#[derive(Debug, Clone, Copy)]
pub(crate) enum Seg<'a> {
    Member(&'a str),
    /// A list element, 0-based.
    Index(usize),
}

#[derive(Debug, Default)]
pub(crate) struct Path<'a> {
    segs: Vec<Seg<'a>>,
}

impl<'a> Path<'a> {
    pub fn push(&mut self, s: Seg<'a>) {
        self.segs.push(s);
    }

    pub fn pop(&mut self) {
        self.segs.pop();
    }

    /// AWS's validation form: `logEvents.1.member.message`.
    pub fn aws(&self) -> String {
        let mut out = String::new();
        for s in &self.segs {
            if !out.is_empty() {
                out.push('.');
            }
            match s {
                Seg::Member(m) => out.push_str(m),
                Seg::Index(i) => {
                    out.push_str(&(i + 1).to_string());
                    out.push_str(".member");
                }
            }
        }
        out
    }

    /// JSON-pointer-like form for type errors: `logEvents[0].message`.
    pub fn json(&self) -> String {
        let mut out = String::new();
        for s in &self.segs {
            match s {
                Seg::Member(m) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(m);
                }
                Seg::Index(i) => out.push_str(&format!("[{i}]")),
            }
        }
        if out.is_empty() {
            out.push('$');
        }
        out
    }
}
