//! Delimiter bitmaps: where a line's `=`, blanks, quotes and backslashes
//! are, found for the whole line at once.
//!
//! A `key=value` splitter asks, again and again, "where is the next `=` or
//! blank from here?" and "where is the next quote or backslash?". Asked of
//! `memchr` each time, every question pays the search's set-up: on a
//! FortiGate line of 40 short pairs that was about 10,000 instructions, a
//! quarter of the whole pipeline's cost per event. [`Delimiters`] classifies
//! every byte of the line once, 16 bytes per SSE2 compare on x86-64 (byte by
//! byte elsewhere), into three bitmaps; each question is then a mask and a
//! `trailing_zeros` on one 64-bit word.
//!
//! Lines longer than [`Delimiters::MAX_LEN`] are answered by `memchr`
//! ([`Delimiters::new`] returns `None`): the bitmaps live on the stack, and
//! such lines are rare enough that the set-up cost does not matter. Both
//! answer every question the same way; a property test holds them to it.

/// The questions a `key=value` splitter asks, answered from `from` onwards:
/// the position of the next byte of the class, or the line's length when
/// there is none. `from` is at most the line's length.
pub trait Delimit {
    /// The next `=`, space or tab: where a key ends.
    fn key_end(&self, from: usize) -> usize;
    /// The next space or tab: where a bare value ends.
    fn value_end(&self, from: usize) -> usize;
    /// The next `"` or `\`: where a quoted value ends or has an escape.
    fn quote_or_escape(&self, from: usize) -> usize;
}

/// The three classes of bytes of a line of at most [`Delimiters::MAX_LEN`]
/// bytes, one bit per byte.
pub struct Delimiters {
    key_end: [u64; WORDS],
    value_end: [u64; WORDS],
    quote: [u64; WORDS],
    len: usize,
}

const WORDS: usize = Delimiters::MAX_LEN / 64;

impl Delimiters {
    /// The longest line classified into bitmaps (longer ones go to
    /// [`Memchr`]).
    pub const MAX_LEN: usize = 2048;

    /// The bitmaps of `line`, or `None` when it is longer than
    /// [`MAX_LEN`](Self::MAX_LEN).
    pub fn new(line: &[u8]) -> Option<Delimiters> {
        if line.len() > Self::MAX_LEN {
            return None;
        }
        let mut d = Delimiters { key_end: [0; WORDS], value_end: [0; WORDS], quote: [0; WORDS], len: line.len() };
        let blocks = line.chunks_exact(64);
        let rest = blocks.remainder();
        for (w, block) in blocks.enumerate() {
            if let Ok(block) = <&[u8; 64]>::try_from(block) {
                [d.key_end[w], d.value_end[w], d.quote[w]] = block_masks(block);
            }
        }
        if !rest.is_empty() {
            // NUL is in no class: padding adds no bits past the line's end.
            let mut last = [0u8; 64];
            last[..rest.len()].copy_from_slice(rest);
            let w = line.len() / 64;
            [d.key_end[w], d.value_end[w], d.quote[w]] = block_masks(&last);
        }
        Some(d)
    }

    /// The first set bit of `map` at or after `from`, else the line's length.
    fn next(&self, map: &[u64; WORDS], from: usize) -> usize {
        let words = self.len.div_ceil(64);
        let mut w = from / 64;
        if w >= words {
            return self.len;
        }
        let mut bits = map[w] & (u64::MAX << (from % 64));
        loop {
            if bits != 0 {
                return w * 64 + bits.trailing_zeros() as usize;
            }
            w += 1;
            if w >= words {
                return self.len;
            }
            bits = map[w];
        }
    }
}

impl Delimit for Delimiters {
    fn key_end(&self, from: usize) -> usize {
        self.next(&self.key_end, from)
    }

    fn value_end(&self, from: usize) -> usize {
        self.next(&self.value_end, from)
    }

    fn quote_or_escape(&self, from: usize) -> usize {
        self.next(&self.quote, from)
    }
}

/// The same answers from `memchr`, for lines of any length.
pub struct Memchr<'a>(pub &'a [u8]);

impl Delimit for Memchr<'_> {
    fn key_end(&self, from: usize) -> usize {
        memchr::memchr3(b'=', b' ', b'\t', &self.0[from..]).map_or(self.0.len(), |n| from + n)
    }

    fn value_end(&self, from: usize) -> usize {
        memchr::memchr2(b' ', b'\t', &self.0[from..]).map_or(self.0.len(), |n| from + n)
    }

    fn quote_or_escape(&self, from: usize) -> usize {
        memchr::memchr2(b'"', b'\\', &self.0[from..]).map_or(self.0.len(), |n| from + n)
    }
}

/// Bit `i` of each mask: byte `i` of the block is a key end (`=`, space,
/// tab), a value end (space, tab), a quote or backslash.
#[cfg(target_arch = "x86_64")]
fn block_masks(block: &[u8; 64]) -> [u64; 3] {
    use std::arch::x86_64::{__m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8};
    let mut out = [0u64; 3];
    // SAFETY: SSE2 is part of the x86-64 baseline (every x86-64 CPU has
    // it, and the target enables it); each load reads one 16-byte chunk of
    // `block`, and `_mm_loadu_si128` has no alignment requirement.
    unsafe {
        let eq = _mm_set1_epi8(b'=' as i8);
        let space = _mm_set1_epi8(b' ' as i8);
        let tab = _mm_set1_epi8(b'\t' as i8);
        let quote = _mm_set1_epi8(b'"' as i8);
        let backslash = _mm_set1_epi8(b'\\' as i8);
        for (k, chunk) in block.chunks_exact(16).enumerate() {
            let v = _mm_loadu_si128(chunk.as_ptr().cast::<__m128i>());
            let blank = _mm_or_si128(_mm_cmpeq_epi8(v, space), _mm_cmpeq_epi8(v, tab));
            let key_end = _mm_or_si128(blank, _mm_cmpeq_epi8(v, eq));
            let quoting = _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash));
            // `movemask` sets the low 16 bits of an `i32`, one per byte.
            let shift = 16 * k;
            out[0] |= u64::from(_mm_movemask_epi8(key_end) as u16) << shift;
            out[1] |= u64::from(_mm_movemask_epi8(blank) as u16) << shift;
            out[2] |= u64::from(_mm_movemask_epi8(quoting) as u16) << shift;
        }
    }
    out
}

/// Bit `i` of each mask: byte `i` of the block is a key end (`=`, space,
/// tab), a value end (space, tab), a quote or backslash.
#[cfg(not(target_arch = "x86_64"))]
fn block_masks(block: &[u8; 64]) -> [u64; 3] {
    block_masks_bytewise(block)
}

/// [`block_masks`], one byte at a time (other CPUs; tests hold SSE2 to it).
#[cfg(any(not(target_arch = "x86_64"), test))]
fn block_masks_bytewise(block: &[u8; 64]) -> [u64; 3] {
    let mut out = [0u64; 3];
    for (i, b) in block.iter().enumerate() {
        let bit = 1u64 << i;
        match b {
            b' ' | b'\t' => {
                out[0] |= bit;
                out[1] |= bit;
            }
            b'=' => out[0] |= bit,
            b'"' | b'\\' => out[2] |= bit,
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn answers(d: &dyn Delimit, len: usize) -> Vec<[usize; 3]> {
        (0..=len).map(|i| [d.key_end(i), d.value_end(i), d.quote_or_escape(i)]).collect()
    }

    #[test]
    fn a_line_past_the_limit_is_left_to_memchr() {
        assert!(Delimiters::new(&[b'a'; Delimiters::MAX_LEN]).is_some());
        assert!(Delimiters::new(&[b'a'; Delimiters::MAX_LEN + 1]).is_none());
    }

    #[test]
    fn classes_at_word_edges() {
        // Delimiters on both sides of the 16- and 64-byte boundaries, and a
        // line that fills its last word exactly.
        let mut line = vec![b'x'; 128];
        for (at, b) in [(0, b'='), (15, b' '), (16, b'"'), (63, b'\t'), (64, b'\\'), (127, b'=')] {
            line[at] = b;
        }
        let d = Delimiters::new(&line).unwrap();
        assert_eq!([d.key_end(0), d.key_end(1), d.key_end(16), d.key_end(64), d.key_end(128)], [0, 15, 63, 127, 128]);
        assert_eq!([d.value_end(0), d.value_end(16), d.value_end(64)], [15, 63, 128]);
        assert_eq!([d.quote_or_escape(0), d.quote_or_escape(17), d.quote_or_escape(65)], [16, 64, 128]);
        assert_eq!(answers(&d, line.len()), answers(&Memchr(&line), line.len()));
    }

    proptest! {
        #[test]
        fn every_byte_value_is_classified_like_the_bytewise_loop(block in proptest::array::uniform32(any::<u8>()), at in 0usize..33) {
            let mut b = [b'x'; 64];
            b[at..at + 32].copy_from_slice(&block);
            prop_assert_eq!(block_masks(&b), block_masks_bytewise(&b));
        }

        #[test]
        fn bitmaps_answer_like_memchr(line in proptest::collection::vec(
            prop_oneof![Just(b'='), Just(b' '), Just(b'\t'), Just(b'"'), Just(b'\\'), Just(0u8), Just(0xC3), b'a'..=b'c'],
            0..300,
        )) {
            let d = Delimiters::new(&line).unwrap();
            prop_assert_eq!(answers(&d, line.len()), answers(&Memchr(&line), line.len()));
        }
    }
}
