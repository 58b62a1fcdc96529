// Package auth gets yasyncd an OAuth token from Yandex ID once and keeps it valid without
// the user for as long as Yandex allows, failing loudly and safely when it cannot.
//
// # Flows
//
// [DeviceLogin] runs the device-code flow for headless machines and [BrowserLogin] the
// authorization-code flow with a loopback redirect, state and PKCE for desktops. Both return
// the token; the caller stores it with [Store.Save] only once it is obtained, so a failed
// login never destroys a working token.
//
// # Using the token
//
// [Transport] is an http.RoundTripper that sends `Authorization: OAuth <token>` (Yandex's
// scheme; the token endpoint says "bearer" but the Disk API wants "OAuth"), refreshes the
// token ahead of its expiry and once after a 401, and writes every new token to token.json
// before it is used. [StaticTransport] serves a token given through YASYNCD_TOKEN, which is
// never stored and never refreshed.
//
// # Refresh policy
//
// Yandex tokens for Disk apps live one year and a refresh rotates the refresh token (and may
// return the same access token). A token is refreshed once less than
// max(RefreshMargin, RefreshFraction × lifetime) of its life is left — by default once
// three quarters of a year-long token remain, i.e. about every three months as Yandex
// suggests, which leaves months of slack for a machine that is switched off. A token whose
// whole lifetime is shorter than that threshold is refreshed at half-life instead, so a
// short-lived token is never refreshed on every request. The lifetime is the time between
// the file's modification time (written when the token arrived) and the token's expiry.
//
// # Several processes
//
// Processes sharing one state directory (the daemon, `yasyncd auth status`, a second
// daemon by mistake) coordinate through a file lock on token.json.lock: a refresh happens
// under the lock after re-reading token.json, because another process may already have
// rotated the refresh token, and a rotated refresh token that is lost means a new login.
// A Transport re-reads token.json whenever the file changes, so `yasyncd auth login` fixes a
// running daemon without a restart.
//
// # Caveats
//
// Nothing in this package logs or returns a token, a code, the client secret or an
// Authorization header value: errors from the token endpoint are reduced to their status,
// OAuth error code and description. When the refresh is refused (invalid_grant) the
// Transport returns [ErrLoginRequired] until token.json changes and deletes nothing.
package auth
