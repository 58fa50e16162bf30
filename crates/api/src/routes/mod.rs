//! The route table. Every route is mounted through `Routes`, which demands an access class for
//! each: a route without an authentication requirement cannot be mounted by accident, because
//! there is no other way to mount one. A tenant route also names the scope each of its methods
//! needs ([`Needs`]); the authentication middleware hands it to the `Authenticator`, and a
//! method without a declared scope is refused.

pub(crate) mod admin;
mod audit;
mod balances;
pub mod console;
mod docs;
mod docs_page;
mod health;
pub(crate) mod iso20022;
pub(crate) mod kyc;
pub(crate) mod oauth;
mod paging;
mod quotes;
mod recipients;
pub mod snap;
pub(crate) mod tenant;
mod transfers;
pub(crate) mod webhooks;

use axum::Router;
use axum::http::Method;
use axum::middleware::from_fn_with_state;
use axum::routing::MethodRouter;
use benteng_core::roles::Permission;
use benteng_core::scopes::Scope;

use crate::middleware::{
    authenticate, authenticate_counterparty, authenticate_snap, authenticate_staff,
};
use crate::protection::{guard_unauthenticated, policy, protect};
use crate::state::AppState;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone: health, readiness, metrics, the API description.
    Public,
    /// An authenticated caller acting for a tenant.
    Tenant,
    /// A SNAP partner (B2B token and a signed request) acting for its tenant; answers in
    /// SNAP's format.
    Snap,
    /// A signed-in staff member (the operator API), with the permission the route needs.
    Staff,
    /// An ISO 20022 counterparty, by the TLS client certificate it registered (mTLS).
    Counterparty,
}

/// What a staff member needs for one method of an operator route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaffNeed {
    /// Any signed-in staff member, through a session or a staff token.
    SignedIn,
    /// A signed-in staff member through their browser session, not a token: routes that
    /// manage the person's own credentials (signing out, issuing tokens), so a token limited
    /// to some permissions cannot mint a wider one or end its person's sessions.
    Session,
    /// A role that grants this permission.
    Permission(Permission),
}

impl From<Permission> for StaffNeed {
    fn from(permission: Permission) -> Self {
        StaffNeed::Permission(permission)
    }
}

/// What each method of a route needs: a scope for a tenant route, a [`StaffNeed`] for an
/// operator route. Built from at least one method, so such a route cannot be mounted without
/// one; a method it does not name is refused (deny by default), whatever handler the route has
/// for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Needs<T: Copy = Scope> {
    get: Option<T>,
    post: Option<T>,
}

impl<T: Copy> Needs<T> {
    /// `GET` (and so `HEAD`) needs `scope`.
    pub const fn on_get(scope: T) -> Self {
        Self {
            get: Some(scope),
            post: None,
        }
    }

    /// `POST` needs `scope`.
    pub const fn on_post(scope: T) -> Self {
        Self {
            get: None,
            post: Some(scope),
        }
    }

    #[must_use]
    pub const fn and_post(self, scope: T) -> Self {
        Self {
            post: Some(scope),
            ..self
        }
    }

    /// The scope a request with `method` needs; `None` for a method the route did not declare.
    pub fn scope_for(&self, method: &Method) -> Option<T> {
        if method == Method::GET || method == Method::HEAD {
            self.get
        } else if method == Method::POST {
            self.post
        } else {
            None
        }
    }

    /// The declared methods and their scopes (`GET` before `POST`).
    pub fn declared(&self) -> impl Iterator<Item = (Method, T)> {
        [(Method::GET, self.get), (Method::POST, self.post)]
            .into_iter()
            .filter_map(|(method, scope)| scope.map(|scope| (method, scope)))
    }
}

/// How a route is mounted: its access class and, for tenant routes, its scopes.
#[derive(Debug, Clone, Copy)]
enum Mount {
    Public,
    Tenant(Needs),
    Snap,
    Staff(Needs<StaffNeed>),
    Counterparty,
}

impl Mount {
    fn access(self) -> Access {
        match self {
            Mount::Public => Access::Public,
            Mount::Tenant(_) => Access::Tenant,
            Mount::Snap => Access::Snap,
            Mount::Staff(_) => Access::Staff,
            Mount::Counterparty => Access::Counterparty,
        }
    }
}

/// Which listeners serve a route: a listener's `routes` setting names groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RouteGroup {
    /// Health, readiness and metrics: what operators and load balancers call.
    Operations,
    /// Everything else: the API and its description (the default group).
    Api,
}

pub struct Routes {
    /// The group routes mounted now fall into (`Api` unless inside [`Routes::within`]).
    group: RouteGroup,
    entries: Vec<(&'static str, Mount, RouteGroup, MethodRouter<AppState>)>,
}

impl Routes {
    pub fn public(mut self, path: &'static str, route: MethodRouter<AppState>) -> Self {
        self.entries.push((path, Mount::Public, self.group, route));
        self
    }

    /// A tenant route; `needs` names the scope of each of its methods.
    pub fn tenant(
        mut self,
        path: &'static str,
        needs: Needs,
        route: MethodRouter<AppState>,
    ) -> Self {
        self.entries
            .push((path, Mount::Tenant(needs), self.group, route));
        self
    }

    /// A SNAP route: authenticated by the SNAP scheme of the same `Authenticator`, which needs
    /// the raw body (buffered once, within the body limit, by `authenticate_snap`).
    pub fn snap(mut self, path: &'static str, route: MethodRouter<AppState>) -> Self {
        self.entries.push((path, Mount::Snap, self.group, route));
        self
    }

    /// An operator route; `needs` names what each of its methods needs of a staff member.
    pub fn staff(
        mut self,
        path: &'static str,
        needs: Needs<StaffNeed>,
        route: MethodRouter<AppState>,
    ) -> Self {
        self.entries
            .push((path, Mount::Staff(needs), self.group, route));
        self
    }

    /// A counterparty route: only a client whose verified TLS client certificate a
    /// counterparty registered reaches it.
    pub fn counterparty(mut self, path: &'static str, route: MethodRouter<AppState>) -> Self {
        self.entries
            .push((path, Mount::Counterparty, self.group, route));
        self
    }

    /// Mounts the routes `mount` adds in `group`, then returns to the previous group.
    fn within(mut self, group: RouteGroup, mount: impl FnOnce(Routes) -> Routes) -> Self {
        let previous = std::mem::replace(&mut self.group, group);
        let mut routes = mount(self);
        routes.group = previous;
        routes
    }
}

fn all() -> Routes {
    let routes = Routes {
        group: RouteGroup::Api,
        entries: Vec::new(),
    };
    let routes = routes.within(RouteGroup::Operations, health::routes);
    let routes = routes.within(RouteGroup::Operations, admin::routes);
    let routes = routes.within(RouteGroup::Operations, console::routes);
    let routes = docs::routes(routes);
    let routes = tenant::routes(routes);
    let routes = kyc::routes(routes);
    let routes = admin::session::tenant_routes(routes);
    let routes = balances::routes(routes);
    let routes = audit::routes(routes);
    let routes = recipients::routes(routes);
    let routes = quotes::routes(routes);
    let routes = transfers::routes(routes);
    let routes = webhooks::routes(routes);
    let routes = iso20022::routes(routes);
    let routes = oauth::routes(routes);
    snap::routes(routes)
}

/// Every route of the API with its access class.
pub fn table() -> Vec<(&'static str, Access)> {
    all()
        .entries
        .into_iter()
        .map(|(path, mount, _, _)| (path, mount.access()))
        .collect()
}

/// Every tenant route with the scope each of its methods needs.
pub fn scope_table() -> Vec<(&'static str, Needs)> {
    all()
        .entries
        .into_iter()
        .filter_map(|(path, mount, _, _)| match mount {
            Mount::Tenant(needs) => Some((path, needs)),
            Mount::Public | Mount::Snap | Mount::Staff(_) | Mount::Counterparty => None,
        })
        .collect()
}

/// Every operator route with what each of its methods needs of a staff member.
pub fn staff_table() -> Vec<(&'static str, Needs<StaffNeed>)> {
    all()
        .entries
        .into_iter()
        .filter_map(|(path, mount, _, _)| match mount {
            Mount::Staff(needs) => Some((path, needs)),
            Mount::Public | Mount::Snap | Mount::Tenant(_) | Mount::Counterparty => None,
        })
        .collect()
}

/// The router of the routes in `groups`: each route behind the checks its access class demands.
pub fn router(state: &AppState, groups: &[RouteGroup]) -> Router<AppState> {
    all()
        .entries
        .into_iter()
        .filter(|(_, _, group, _)| groups.contains(group))
        .fold(Router::new(), |router, (path, mount, _, route)| {
            let route = match mount {
                Mount::Public if policy::TOKEN_ENDPOINTS.iter().any(|(_, p)| *p == path) => {
                    route.route_layer(from_fn_with_state(state.clone(), guard_unauthenticated))
                }
                Mount::Public => route,
                // Innermost first: protection needs the principal authentication provides.
                // Authentication applies the per-IP guard itself (before any lookup that leaves
                // this instance) and protection checks the address again in its one step.
                // Authentication gets the route's scopes with its state: it checks the one the
                // request's method needs.
                Mount::Tenant(needs) => route
                    .route_layer(from_fn_with_state(state.clone(), protect))
                    .route_layer(from_fn_with_state((state.clone(), needs), authenticate)),
                // SNAP routes: the same per-IP guard and rate limits; SNAP's own replay rules
                // (X-EXTERNAL-ID, partnerReferenceNo) stand in for idempotency keys.
                Mount::Snap => route
                    .route_layer(from_fn_with_state(state.clone(), protect))
                    .route_layer(from_fn_with_state(state.clone(), authenticate_snap))
                    .route_layer(from_fn_with_state(state.clone(), guard_unauthenticated)),
                // Operator routes: the per-IP guard refuses a blocked address and counts
                // failed session checks; the permission is checked with the session.
                Mount::Staff(needs) => route
                    .route_layer(from_fn_with_state(
                        (state.clone(), needs),
                        authenticate_staff,
                    ))
                    .route_layer(from_fn_with_state(state.clone(), guard_unauthenticated)),
                // Counterparty routes: the per-IP guard, then the client certificate.
                Mount::Counterparty => route
                    .route_layer(from_fn_with_state(state.clone(), authenticate_counterparty))
                    .route_layer(from_fn_with_state(state.clone(), guard_unauthenticated)),
            };
            router.route(path, route)
        })
}

pub use docs::ApiDoc;
pub use transfers::first_response;
