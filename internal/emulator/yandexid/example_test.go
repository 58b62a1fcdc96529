package yandexid_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"

	"github.com/yasyncd/yasyncd/internal/emulator/yandexid"
)

// The Disk API emulator mounts the OAuth endpoints on its own mux, so one origin serves
// both; here a device login runs against it and its token is checked with Valid.
func ExampleServer_Register() {
	oauth := yandexid.New(yandexid.Options{ClientID: "my-app"})
	mux := http.NewServeMux()
	oauth.Register(mux)
	// ... the Disk API handlers would be registered on mux here.
	srv := httptest.NewServer(mux)
	defer srv.Close()

	post := func(path string, form url.Values) (int, map[string]any) {
		resp, err := http.PostForm(srv.URL+path, form)
		if err != nil {
			panic(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body
	}

	_, dc := post("/device/code", url.Values{"client_id": {"my-app"}, "device_id": {"my-laptop"}})
	poll := url.Values{"grant_type": {"device_code"}, "code": {dc["device_code"].(string)}, "client_id": {"my-app"}}

	status, body := post("/token", poll)
	fmt.Println(status, body["error"])

	_ = oauth.ApproveDevice(dc["user_code"].(string)) // what the user does on verification_url
	status, body = post("/token", poll)
	fmt.Println(status, oauth.Valid(body["access_token"].(string)))
	// Output:
	// 400 authorization_pending
	// 200 true
}
