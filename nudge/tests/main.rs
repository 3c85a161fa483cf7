//! The nudge crate's integration tests, in one test binary
//! (`cargo test --workspace --test integration -- <module>::`).

mod support {
    pub mod smtp;
}

mod email;
mod webhook;
