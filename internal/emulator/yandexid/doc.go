// Package yandexid is an in-memory emulator of Yandex OAuth (Yandex ID,
// https://oauth.yandex.ru), the only thing yasyncd's login code is tested against. It
// follows section 8 of ../shared/docs/yandex-api.md; comments cite its sections (§8.1 …).
// It is test support and is never linked into the yasyncd binary.
//
// # What it models
//
//   - GET /authorize (§8.1): response_type=code with PKCE (S256 and plain), state echoed
//     (≤ 1024 characters), scope, force_confirm, login_hint, device_id (6–50 printable
//     ASCII) and device_name (≤ 100). Nobody is asked: consent is immediate and the answer
//     is 302 to redirect_uri?code=<7 digits>&state=…; under SetDeny it is
//     error=access_denied&error_description=…&state=…. Codes live 10 minutes and are single
//     use, also when the exchange fails. response_type=token (implicit flow) is supported:
//     the access token comes in the fragment, without a refresh token.
//   - Redirect URIs: with Options.RedirectURIs set, redirect_uri must match one (a loopback
//     one on any port, RFC 8252 §7.3) and defaults to the first; with none registered any
//     loopback http(s) URI is accepted, and no redirect_uri sends the browser to this
//     server's /verification_code page, which shows the code.
//   - POST /token (§8.1 step 3, §8.2 step 3, §8.3, §8.5): parameters only in a form body
//     (a URL query or a repeated parameter → invalid_request); client credentials in the
//     body or in HTTP Basic, which then wins (non-Basic → "Basic auth required", bad base64
//     → "Malformed Authorization header"; these two are the "error" value, as the
//     documentation lists them). Grants authorization_code, refresh_token (the refresh
//     token rotates every time and the old one is refused) and device_code with the
//     parameter named code (RFC 8628's grant type → unsupported_grant_type).
//   - POST /device/code (§8.2): device_code (32 hex), user_code (8 lowercase letters and
//     digits), verification_url, interval, expires_in. Polls answer authorization_pending
//     until the code is approved (ApproveDevice, or the /device page), invalid_grant once it
//     is denied, expired or used, and optionally slow_down once (Options.SlowDown).
//   - POST /revoke_token (§8.4): device-bound tokens only (else unsupported_token_type);
//     the access token and its refresh token die. An app holds at most 30 device-bound
//     tokens; a new one kills the oldest.
//   - Token shapes and answers as recorded (fixtures/oauth-*.json): y0_ access tokens,
//     1:<16>:<86>:<22> refresh tokens, token_type "bearer", no scope key; success bodies
//     application/json; charset=utf-8, error bodies application/json with error and
//     error_description.
//   - Reused tokens (§9.17): with Options.RefreshKeepsAccessToken a refresh answers the
//     same access token with a renewed lifetime; otherwise the access token is replaced
//     and the old one dies at once, so a client that keeps using it fails in tests.
//   - Time: every expiry reads Options.Now, so tests move a fake clock instead of sleeping.
//     interval is reported in whole seconds, rounded up, at least 1.
//
// # What it does not model
//
//   - Users, accounts, consent screens, login_hint and force_confirm (accepted, no effect),
//     scopes (recorded on the token, never checked), optional_scope, invalid_scope and
//     unauthorized_client.
//   - Two live tokens for one user and app with different permissions (§9.17), and a
//     device-flow token handed out again with less than a full lifetime: every grant issues
//     a fresh token.
//   - The answer of /revoke_token for an unknown or already revoked token is not recorded
//     anywhere; this emulator answers {"status": "ok"} (RFC 7009 §2.2).
//   - Whether the secret may be omitted with PKCE is unconfirmed: with ClientSecret set the
//     secret is always required.
//   - TLS, rate limits and faults: the Disk API emulator that mounts this server owns those.
//
// # Use
//
// New(Options) builds a server without listening; Register mounts its endpoints on a
// ServeMux (the Disk API emulator does this, so one origin serves both) and Handler serves
// them alone. Valid tells the Disk API whether an access token is good. IssueToken, Revoke,
// Expire, ApproveDevice, DenyDevice and SetDeny drive the state from tests; Requests and
// PendingUserCodes inspect it. Requests record parameter names only, never values.
package yandexid
