//! Email (`email` rows): message traces and mailbox changes such as
//! forwarding rules (`m365-audit` also reports Entra sign-ins and consents
//! in the unified audit log as `auth` and `oauth` rows).
//!
//! One file per format; what they share with other families is in
//! [`super::readers`].

pub mod m365_audit;
pub mod m365_message_trace;
