//! Identity (`auth` and `oauth` rows): sign-ins, OAuth consents and the audit
//! logs of SaaS platforms (`google-workspace` also reports Gmail forwarding
//! settings as `email` rows).
//!
//! One file per format; what they share with other families is in
//! [`super::readers`].

pub mod entra_audit;
pub mod entra_signin;
pub mod github_audit;
pub mod github_webhook;
pub mod google_workspace;
pub mod okta;
