package yandexid

import (
	"crypto/rand"
	"strings"
)

// Alphabets of the values Yandex hands out; the shapes follow the recorded fixtures so a
// client that validates or logs token shapes meets realistic values.
const (
	base64URLAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	hexAlphabet       = "0123456789abcdef"
	userCodeAlphabet  = "abcdefghijklmnopqrstuvwxyz0123456789"
	digits            = "0123456789"
)

// randomString draws n characters uniformly from alphabet (len ≤ 256) with crypto/rand.
func randomString(alphabet string, n int) string {
	// Rejection sampling keeps the draw uniform when len(alphabet) does not divide 256.
	limit := 256 - 256%len(alphabet)
	var b strings.Builder
	b.Grow(n)
	buf := make([]byte, n+n/2+8)
	for b.Len() < n {
		_, _ = rand.Read(buf) // crypto/rand.Read never fails (Go ≥ 1.24)
		for _, c := range buf {
			if int(c) >= limit {
				continue
			}
			b.WriteByte(alphabet[int(c)%len(alphabet)])
			if b.Len() == n {
				break
			}
		}
	}
	return b.String()
}

// newAccessTokenLocked returns an unused access token shaped like
// "y0_AgAAAAAbKQ0kAASLvQAAAAEJoRL2AABuNkGCB-dHYqz0hCn_i9pMIiNxpQ" (61 characters).
func (s *Server) newAccessTokenLocked() string {
	for {
		t := "y0_" + randomString(base64URLAlphabet, 58)
		if _, taken := s.byAccess[t]; !taken {
			return t
		}
	}
}

// newRefreshTokenLocked returns an unused refresh token shaped "1:<16>:<86>:<22>".
func (s *Server) newRefreshTokenLocked() string {
	for {
		t := "1:" + randomString(base64URLAlphabet, 16) + ":" +
			randomString(base64URLAlphabet, 86) + ":" + randomString(base64URLAlphabet, 22)
		if _, taken := s.byRefresh[t]; !taken {
			return t
		}
	}
}

// newAuthCodeLocked returns an unused 7-digit authorization code without a leading zero.
func (s *Server) newAuthCodeLocked() string {
	for {
		c := randomString("123456789", 1) + randomString(digits, 6)
		if _, taken := s.codes[c]; !taken {
			return c
		}
	}
}

// newDeviceCodeLocked returns an unused pair: a 32-hex device_code and an 8-character
// lowercase user_code.
func (s *Server) newDeviceCodeLocked() (deviceCode, userCode string) {
	for {
		deviceCode = randomString(hexAlphabet, 32)
		userCode = randomString(userCodeAlphabet, 8)
		_, t1 := s.devices[deviceCode]
		_, t2 := s.userCodes[userCode]
		if !t1 && !t2 {
			return deviceCode, userCode
		}
	}
}

func isAuthCodeShape(c string) bool {
	if len(c) != 7 {
		return false
	}
	for i := range len(c) {
		if c[i] < '0' || c[i] > '9' {
			return false
		}
	}
	return true
}

func isDeviceCodeShape(c string) bool {
	if len(c) != 32 {
		return false
	}
	for i := range len(c) {
		if !strings.ContainsRune(hexAlphabet, rune(c[i])) {
			return false
		}
	}
	return true
}
