//! What every page template receives: who is signed in, the CSRF token for its forms, and a
//! one-line flash message.

use crate::extract::AuthUser;
use token_claims::Role;

/// The signed-in person as the layout shows them.
#[derive(Clone, Debug)]
pub struct UserView {
    pub name: String,
    pub role: Role,
}

impl UserView {
    pub fn is_teacher(&self) -> bool {
        self.role == Role::Teacher
    }
}

#[derive(Clone, Debug, Default)]
pub struct PageCtx {
    pub user: Option<UserView>,
    /// Goes into a hidden `csrf_token` field of every form on the page.
    pub csrf_token: String,
    /// The token of the sign-out button in the navigation (see `Identity::sign_out_csrf`).
    pub sign_out_token: String,
    pub flash: Option<String>,
    /// Error pages are rendered without the request, so they cannot tell who is signed in:
    /// their navigation then offers neither "Sign in" nor a user's links, only neutral ones.
    pub unknown_user: bool,
    /// Formats the page's times in the reader's zone (UTC until the page sets it with
    /// [`with_times`](Self::with_times), from the zone its service call read).
    pub tz: crate::timefmt::TimeFmt,
}

impl PageCtx {
    pub fn anonymous() -> Self {
        Self::default()
    }

    /// For an error page: nobody is known to be signed in or out.
    pub fn unknown() -> Self {
        Self { unknown_user: true, ..Self::default() }
    }

    /// For a page that anonymous visitors post forms from (sign-in, sign-up).
    pub fn anonymous_with_csrf(csrf_token: String) -> Self {
        Self { csrf_token, ..Self::default() }
    }

    pub fn for_user(user: &AuthUser, csrf_token: String, sign_out_token: String) -> Self {
        Self {
            user: Some(UserView { name: user.name.clone(), role: user.role }),
            csrf_token,
            sign_out_token,
            flash: None,
            unknown_user: false,
            tz: crate::timefmt::TimeFmt::default(),
        }
    }

    /// The page's times in this zone, relative to `now` (the service's clock).
    pub fn with_times(mut self, zone: crate::timefmt::Zone, now: time::OffsetDateTime) -> Self {
        self.tz = crate::timefmt::TimeFmt::new(zone, now);
        self
    }

    pub fn with_flash(mut self, flash: Option<String>) -> Self {
        self.flash = flash;
        self
    }
}

/// Renders a page as a 200 reply that is never cached (pages carry names, grades and CSRF tokens).
pub fn render(page: &impl askama::Template) -> Result<actix_web::HttpResponse, crate::problem::PageError> {
    render_with_status(page, actix_web::http::StatusCode::OK)
}

/// Renders a page with this status; a template failure is logged and answered as a 500 page.
pub fn render_with_status(
    page: &impl askama::Template,
    status: actix_web::http::StatusCode,
) -> Result<actix_web::HttpResponse, crate::problem::PageError> {
    let html = page.render().map_err(|e| {
        tracing::error!(error = %e, "template failed to render");
        crate::problem::PageError(crate::problem::Problem::internal())
    })?;
    Ok(actix_web::HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .body(html))
}

/// The redirect after a successful form post (post/redirect/get).
pub fn see_other(to: String) -> actix_web::HttpResponse {
    actix_web::HttpResponse::SeeOther()
        .insert_header((actix_web::http::header::LOCATION, to))
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .finish()
}
