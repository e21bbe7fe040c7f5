//! Line numbers of positions in an input, for rejections that name their line.

use serde_json::value::RawValue;

/// Turns byte offsets into 1-based line numbers. Offsets must be asked in increasing order
/// (each question scans only the bytes since the previous one).
pub(crate) struct LineIndex<'a> {
    input: &'a [u8],
    offset: usize,
    line: u64,
}

impl<'a> LineIndex<'a> {
    pub fn new(input: &'a [u8]) -> Self {
        Self { input, offset: 0, line: 1 }
    }

    /// The line of byte `offset`.
    pub fn line_at(&mut self, offset: usize) -> u64 {
        let offset = offset.min(self.input.len());
        if offset < self.offset {
            self.offset = 0;
            self.line = 1;
        }
        let newlines = self.input[self.offset..offset].iter().filter(|b| **b == b'\n').count();
        self.line += newlines as u64;
        self.offset = offset;
        self.line
    }

    /// The byte offset of a raw JSON value borrowed from this input.
    pub fn offset_of(&self, raw: &RawValue) -> usize {
        let start = self.input.as_ptr() as usize;
        (raw.get().as_ptr() as usize).saturating_sub(start).min(self.input.len())
    }

    /// The line where a raw JSON value borrowed from this input starts.
    pub fn line_of(&mut self, raw: &RawValue) -> u64 {
        let offset = self.offset_of(raw);
        self.line_at(offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_values_know_their_lines() {
        let input = b"[\n  \"a\",\n\n  \"b\"\n]";
        let values: Vec<&RawValue> = serde_json::from_slice(input).unwrap();
        let mut idx = LineIndex::new(input);
        assert_eq!(idx.line_of(values[0]), 2);
        assert_eq!(idx.line_of(values[1]), 4);
    }
}
