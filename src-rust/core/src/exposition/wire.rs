//! Protocol buffer wire encoding, as much as `metrics.proto` needs: varints, zigzag,
//! doubles, and length-delimited fields written through a stack of reused buffers (a
//! nested message's length must precede it, so each level is written apart and copied
//! into its parent when it ends).

const VARINT: u32 = 0;
const FIXED64: u32 = 1;
const LEN: u32 = 2;

pub(super) fn varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn key(out: &mut Vec<u8>, field: u32, wire_type: u32) {
    varint(out, u64::from((field << 3) | wire_type));
}

/// Nested messages being written: `levels[depth]` is the innermost open one.
#[derive(Default)]
pub(super) struct Writer {
    levels: Vec<Vec<u8>>,
    depth: usize,
}

impl Writer {
    /// Starts a top-level message, dropping whatever was being written.
    pub(super) fn start(&mut self) {
        self.depth = 0;
        if self.levels.is_empty() {
            self.levels.push(Vec::new());
        }
        self.levels[0].clear();
    }

    fn out(&mut self) -> &mut Vec<u8> {
        &mut self.levels[self.depth]
    }

    /// Opens a nested message; it ends with [`Writer::end`].
    pub(super) fn begin(&mut self) {
        self.depth += 1;
        if self.levels.len() <= self.depth {
            self.levels.push(Vec::new());
        }
        self.levels[self.depth].clear();
    }

    /// Closes the innermost nested message as field `field` of its parent.
    pub(super) fn end(&mut self, field: u32) {
        let (parents, inner) = self.levels.split_at_mut(self.depth);
        let parent = &mut parents[self.depth - 1];
        key(parent, field, LEN);
        varint(parent, inner[0].len() as u64);
        parent.extend_from_slice(&inner[0]);
        self.depth -= 1;
    }

    /// Appends the finished top-level message to `out`, preceded by its length (the
    /// `encoding=delimited` framing).
    pub(super) fn finish_delimited(&mut self, out: &mut Vec<u8>) {
        debug_assert_eq!(self.depth, 0, "every nested message was ended");
        varint(out, self.levels[0].len() as u64);
        out.extend_from_slice(&self.levels[0]);
    }

    pub(super) fn string(&mut self, field: u32, value: &str) {
        let out = self.out();
        key(out, field, LEN);
        varint(out, value.len() as u64);
        out.extend_from_slice(value.as_bytes());
    }

    pub(super) fn uint(&mut self, field: u32, value: u64) {
        let out = self.out();
        key(out, field, VARINT);
        varint(out, value);
    }

    pub(super) fn sint(&mut self, field: u32, value: i64) {
        self.uint(field, ((value << 1) ^ (value >> 63)) as u64);
    }

    pub(super) fn double(&mut self, field: u32, value: f64) {
        let out = self.out();
        key(out, field, FIXED64);
        out.extend_from_slice(&value.to_le_bytes());
    }

    /// A packed repeated sint64 field.
    pub(super) fn packed_sints(&mut self, field: u32, values: &[i64]) {
        if values.is_empty() {
            return;
        }
        self.begin();
        for &value in values {
            varint(self.out(), ((value << 1) ^ (value >> 63)) as u64);
        }
        self.end(field);
    }

    /// A `google.protobuf.Timestamp` from Unix seconds, as field `field`.
    pub(super) fn timestamp(&mut self, field: u32, unix_seconds: f64) {
        let seconds = unix_seconds.floor();
        let nanos = ((unix_seconds - seconds) * 1e9).round().min(999_999_999.0);
        self.begin();
        self.uint(1, seconds as i64 as u64);
        if nanos > 0.0 {
            self.uint(2, nanos as u64);
        }
        self.end(field);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_the_protobuf_documentation_examples() {
        let mut out = Vec::new();
        varint(&mut out, 150);
        assert_eq!(out, [0x96, 0x01]);
        let mut w = Writer::default();
        w.start();
        w.uint(1, 150);
        w.sint(2, -2);
        w.string(3, "testing");
        w.begin();
        w.uint(1, 1);
        w.end(4);
        let mut framed = Vec::new();
        w.finish_delimited(&mut framed);
        let body = [
            0x08, 0x96, 0x01, 0x10, 0x03, 0x1a, 0x07, b't', b'e', b's', b't', b'i', b'n', b'g',
            0x22, 0x02, 0x08, 0x01,
        ];
        assert_eq!(framed[0] as usize, body.len());
        assert_eq!(&framed[1..], &body);
    }

    #[test]
    fn timestamps_split_seconds_and_nanos() {
        let mut w = Writer::default();
        w.start();
        w.timestamp(1, 1.5);
        let mut framed = Vec::new();
        w.finish_delimited(&mut framed);
        // field 1 (8 bytes): seconds 1, then nanos 500,000,000 (a 5-byte varint).
        assert_eq!(&framed[1..6], &[0x0a, 0x08, 0x08, 0x01, 0x10]);
    }
}
