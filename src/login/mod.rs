//! The interactive login window (WebView2 on Windows, WebKitGTK on Linux) and the
//! browser-link flow. Filled in by the login issue.

pub mod link;
