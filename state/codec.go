package state

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// An entry value is a compact binary record, because a 100,000-file tree is read in full on
// every pass and JSON would triple the size and the decode time:
//
//	format byte (entryFormat)
//	uvarint flags
//	[string LocalPath]       if flagLocalPath (omitted when equal to the key)
//	[string RemotePath]      if flagRemotePath (omitted when equal to the key)
//	varint Size
//	[16 bytes | string MD5]  flagMD5Raw: lowercase hex stored as bytes; flagMD5Str: as is
//	[32 bytes | string SHA256]
//	[varint sec, uvarint nsec LocalMtime]       if flagMtime (zero time omitted)
//	uvarint Inode
//	[varint sec, uvarint nsec RemoteModified]   if flagRemoteModified
//	string ResourceID
//	varint RemoteRevision
//
// A string is a uvarint length and the bytes. A new layout gets a new format byte; decode
// keeps reading the old ones.
const entryFormat = 1

const (
	flagDir = 1 << iota
	flagLocalPath
	flagRemotePath
	flagMD5Raw
	flagMD5Str
	flagSHARaw
	flagSHAStr
	flagMtime
	flagRemoteModified
)

var errCorrupt = errors.New("corrupt entry")

func encodeEntry(buf []byte, e *Entry) []byte {
	var flags uint64
	if e.Dir {
		flags |= flagDir
	}
	if e.LocalPath != e.Key {
		flags |= flagLocalPath
	}
	if e.RemotePath != e.Key {
		flags |= flagRemotePath
	}
	md5Raw, md5OK := lowerHex(e.MD5, 16)
	switch {
	case md5OK:
		flags |= flagMD5Raw
	case e.MD5 != "":
		flags |= flagMD5Str
	}
	shaRaw, shaOK := lowerHex(e.SHA256, 32)
	switch {
	case shaOK:
		flags |= flagSHARaw
	case e.SHA256 != "":
		flags |= flagSHAStr
	}
	if !e.LocalMtime.IsZero() {
		flags |= flagMtime
	}
	if !e.RemoteModified.IsZero() {
		flags |= flagRemoteModified
	}

	buf = append(buf, entryFormat)
	buf = binary.AppendUvarint(buf, flags)
	if flags&flagLocalPath != 0 {
		buf = appendString(buf, e.LocalPath)
	}
	if flags&flagRemotePath != 0 {
		buf = appendString(buf, e.RemotePath)
	}
	buf = binary.AppendVarint(buf, e.Size)
	switch {
	case md5OK:
		buf = append(buf, md5Raw...)
	case e.MD5 != "":
		buf = appendString(buf, e.MD5)
	}
	switch {
	case shaOK:
		buf = append(buf, shaRaw...)
	case e.SHA256 != "":
		buf = appendString(buf, e.SHA256)
	}
	if flags&flagMtime != 0 {
		buf = appendTime(buf, e.LocalMtime)
	}
	buf = binary.AppendUvarint(buf, e.Inode)
	if flags&flagRemoteModified != 0 {
		buf = appendTime(buf, e.RemoteModified)
	}
	buf = appendString(buf, e.ResourceID)
	buf = binary.AppendVarint(buf, e.RemoteRevision)
	return buf
}

// lowerHex decodes s when it is exactly n bytes in lowercase hex, so that encoding it back
// gives the same string.
func lowerHex(s string, n int) ([]byte, bool) {
	if len(s) != 2*n {
		return nil, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return nil, false
		}
	}
	b, err := hex.DecodeString(s)
	return b, err == nil
}

func appendString(buf []byte, s string) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(s)))
	return append(buf, s...)
}

func appendTime(buf []byte, t time.Time) []byte {
	buf = binary.AppendVarint(buf, t.Unix())
	return binary.AppendUvarint(buf, uint64(t.Nanosecond()))
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail() {
	if d.err == nil {
		d.err = errCorrupt
	}
	d.b = nil
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) bytes(n uint64) []byte {
	if uint64(len(d.b)) < n {
		d.fail()
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) string() string { return string(d.bytes(d.uvarint())) }

func (d *decoder) time() time.Time {
	sec := d.varint()
	nsec := d.uvarint()
	if nsec >= 1e9 {
		d.fail()
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec))
}

func decodeEntry(key string, raw []byte) (Entry, error) {
	if len(raw) == 0 {
		return Entry{}, errCorrupt
	}
	if raw[0] != entryFormat {
		return Entry{}, fmt.Errorf("%w: unknown format %d", errCorrupt, raw[0])
	}
	d := decoder{b: raw[1:]}
	flags := d.uvarint()
	e := Entry{Key: key, LocalPath: key, RemotePath: key, Dir: flags&flagDir != 0}
	if flags&flagLocalPath != 0 {
		e.LocalPath = d.string()
	}
	if flags&flagRemotePath != 0 {
		e.RemotePath = d.string()
	}
	e.Size = d.varint()
	switch {
	case flags&flagMD5Raw != 0:
		e.MD5 = hex.EncodeToString(d.bytes(16))
	case flags&flagMD5Str != 0:
		e.MD5 = d.string()
	}
	switch {
	case flags&flagSHARaw != 0:
		e.SHA256 = hex.EncodeToString(d.bytes(32))
	case flags&flagSHAStr != 0:
		e.SHA256 = d.string()
	}
	if flags&flagMtime != 0 {
		e.LocalMtime = d.time()
	}
	e.Inode = d.uvarint()
	if flags&flagRemoteModified != 0 {
		e.RemoteModified = d.time()
	}
	e.ResourceID = d.string()
	e.RemoteRevision = d.varint()
	if d.err != nil {
		return Entry{}, d.err
	}
	if len(d.b) != 0 {
		return Entry{}, fmt.Errorf("%w: %d trailing bytes", errCorrupt, len(d.b))
	}
	return e, nil
}
