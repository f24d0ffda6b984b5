//! The navigation checks: each navigation allowed, refused or taken as ANAF's redirect
//! before it starts (`decide::navigation_starting`), and each load judged when it ends.

use super::certificate::take_string;
use super::{ended, finish, Shared};
use crate::login::decide;
use crate::login::flow::{self, guarded, End, Nav};
use webview2_com::ExecuteScriptCompletedHandler;
use webview2_com::Microsoft::Web::WebView2::Win32::*;
use windows::core::{w, Interface, PWSTR};

pub(super) fn on_navigation_starting(
    win: &Shared,
    args: &ICoreWebView2NavigationStartingEventArgs,
) -> windows::core::Result<()> {
    // SAFETY: COM calls on live objects WebView2 passed to this handler.
    unsafe {
        let mut uri = PWSTR::null();
        args.Uri(&mut uri)?;
        let uri = take_string(uri);
        let mut redirected = windows::core::BOOL(0);
        let _ = args.IsRedirected(&mut redirected);
        let (idp, redirect) = {
            let w = win.borrow();
            (w.req.idp.clone(), w.req.redirect.clone())
        };
        if ended(win) {
            // The login is over: nothing more is loaded.
            return args.SetCancel(true);
        }
        match decide::navigation_starting(&uri, redirected.as_bool(), &idp, &redirect) {
            Nav::Allow => {}
            Nav::Redirect => {
                args.SetCancel(true)?;
                let open_to_code = win.borrow().opened.elapsed();
                finish(
                    win,
                    End::Redirect {
                        url: uri,
                        open_to_code,
                    },
                );
            }
            Nav::Refuse(e) => {
                args.SetCancel(true)?;
                ::log::warn!(target: "anaf::login", "navigation refused: {e:?}");
                finish(win, End::Failed(e));
            }
        }
    }
    Ok(())
}

pub(super) fn on_navigation_completed(
    win: &Shared,
    view: Option<ICoreWebView2>,
    args: &ICoreWebView2NavigationCompletedEventArgs,
) -> windows::core::Result<()> {
    if ended(win) {
        return Ok(());
    }
    let Some(view) = view else { return Ok(()) };
    // SAFETY: COM calls on live objects WebView2 passed to this handler.
    unsafe {
        let mut source = PWSTR::null();
        view.Source(&mut source)?;
        let uri = take_string(source);
        let mut ok = windows::core::BOOL(0);
        args.IsSuccess(&mut ok)?;
        let mut status = COREWEBVIEW2_WEB_ERROR_STATUS::default();
        args.WebErrorStatus(&mut status)?;
        // HttpStatusCode: ICoreWebView2NavigationCompletedEventArgs2 (WebView2 1.0.1245.22).
        let mut http = 0i32;
        if let Ok(args2) = args.cast::<ICoreWebView2NavigationCompletedEventArgs2>() {
            let _ = args2.HttpStatusCode(&mut http);
        }
        let (idp, certificate_sent) = {
            let w = win.borrow();
            (w.req.idp.clone(), w.certificate_sent)
        };
        let done = decide::Completed {
            uri: &uri,
            is_success: ok.as_bool(),
            web_error: decide::WebError::from_code(status.0),
            http_status: http,
            certificate_sent,
            detail: None,
        };
        match decide::navigation_completed(&done, &idp) {
            decide::AfterLoad::Nothing => {}
            decide::AfterLoad::Ignore(why) => {
                ::log::info!(target: "anaf::login", "navigation not completed, not fatal: {why} ({}, HTTP {http})", status.0);
            }
            decide::AfterLoad::Fail(e) => finish(win, End::Failed(e)),
            decide::AfterLoad::ReadErrorPage(http) => {
                let w = win.clone();
                let handler =
                    ExecuteScriptCompletedHandler::create(Box::new(move |_hr, json: String| {
                        guarded(Ok(()), || {
                            let text: String = serde_json::from_str(&json).unwrap_or(json);
                            finish(&w, End::Failed(flow::error_page(http, &text)));
                            Ok(())
                        })
                    }));
                view.ExecuteScript(w!("document.body ? document.body.innerText : ''"), &handler)?;
            }
        }
    }
    Ok(())
}
