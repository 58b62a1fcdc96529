package emulator

import (
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// pathParam parses a path query parameter of the given tree. sent is the value as the
// client sent it, which error descriptions echo (§9.15).
func (s *Server) pathParam(q url.Values, name string, a area) (p rpath, sent string, e *apiError) {
	sent = q.Get(name)
	if sent == "" && a == areaTrash {
		return rpath{area: areaTrash}, sent, nil
	}
	p, err := parsePath(sent, a, s.appDir)
	if err != nil {
		return p, sent, errFieldValidation(name, err.Error())
	}
	return p, sent, nil
}

// ensureAppDir creates the app folder on first use (§5.7). Callers hold s.mu.
func (s *Server) ensureAppDir(q url.Values, names ...string) {
	for _, name := range names {
		if strings.HasPrefix(q.Get(name), "app:") {
			s.mkdirAll(rpath{area: areaDisk, segs: s.appDir})
		}
	}
}

func (s *Server) mkdirAll(p rpath) *node {
	n := s.rootOf(p.area)
	for _, seg := range p.segs {
		c, ok := n.children[seg]
		if !ok {
			c = s.newDir(seg)
			s.attach(n, c)
		}
		if !c.dir {
			return nil
		}
		n = c
	}
	return n
}

// respond filters v by the request's fields parameter (§2.3) and sends it.
func respond(w http.ResponseWriter, r *http.Request, status int, v any) {
	writeOK(w, status, parseFields(r.URL.Query().Get("fields")).filter(v))
}

// §2.1 GET /v1/disk
func (s *Server) handleDisk(w http.ResponseWriter, r *http.Request) {
	s.lockTree()
	used, trash, rev, total := s.usedBytes, s.trashBytes, s.rev, s.quota
	s.mu.Unlock()
	reg := fmtTime(s.regTime)
	v := object{
		{"max_file_size", s.opts.MaxFileSize},
		{"paid_max_file_size", int64(53687091200)},
		{"total_space", total},
		{"reg_time", reg},
		{"trash_size", trash},
		{"is_paid", false},
		{"is_idm_managed_folder_address_access", false},
		{"used_space", used},
		{"system_folders", object{
			{"odnoklassniki", "disk:/Социальные сети/Одноклассники"},
			{"google", "disk:/Социальные сети/Google+"},
			{"instagram", "disk:/Социальные сети/Instagram"},
			{"vkontakte", "disk:/Социальные сети/ВКонтакте"},
			{"attach", "disk:/Почтовые вложения"},
			{"mailru", "disk:/Социальные сети/Мой Мир"},
			{"downloads", "disk:/Загрузки/"},
			{"applications", "disk:/Приложения"},
			{"facebook", "disk:/Социальные сети/Facebook"},
			{"social", "disk:/Социальные сети/"},
			{"messenger", "disk:/Файлы Мессенджера"},
			{"calendar", "disk:/Материалы встреч"},
			{"scans", "disk:/Сканы"},
			{"screenshots", "disk:/Скриншоты/"},
			{"photostream", "disk:/Фотокамера/"},
		}},
		{"user", object{
			{"reg_time", reg},
			{"display_name", "emulator"},
			{"uid", uid},
			{"country", "ru"},
			{"is_child", false},
			{"login", "emulator"},
		}},
		{"is_idm_managed_public_access", false},
		{"unlimited_autoupload_enabled", false},
		{"revision", rev},
	}
	respond(w, r, http.StatusOK, v)
}

// §2.3 GET /v1/disk/resources
func (s *Server) handleGetResource(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p, _, e := s.pathParam(q, "path", areaDisk)
	if e == nil {
		var lp listParams
		lp, e = parseList(q, true)
		if e == nil {
			s.lockTree()
			s.ensureAppDir(q, "path")
			n := s.lookup(p)
			var v object
			if n != nil && !s.hiddenAfterUpload(n) {
				v = s.render(s.originOf(r), n, p, &lp)
			}
			s.mu.Unlock()
			if v == nil {
				e = errNotFound()
			} else {
				respond(w, r, http.StatusOK, v)
				return
			}
		}
	}
	writeAPIError(w, e)
}

// hiddenAfterUpload implements quirk §9.2 when switched on. Callers hold s.mu.
func (s *Server) hiddenAfterUpload(n *node) bool {
	d := s.opts.NotFoundAfterUpload
	return d > 0 && !n.dir && !n.uploadedAt.IsZero() && s.now().Before(n.uploadedAt.Add(d))
}

// allFiles lists every file of the Disk (not the trash) with its path.
func (s *Server) allFiles() ([]*node, []rpath) {
	var ns []*node
	var ps []rpath
	var walk func(n *node, p rpath)
	walk = func(n *node, p rpath) {
		for _, c := range n.children {
			cp := p.child(c.name)
			if c.dir {
				walk(c, cp)
			} else {
				ns = append(ns, c)
				ps = append(ps, cp)
			}
		}
	}
	walk(s.disk, rpath{area: areaDisk})
	return ns, ps
}

func mediaFilter(q url.Values) map[string]bool {
	v := q.Get("media_type")
	if v == "" {
		return nil
	}
	m := map[string]bool{}
	for _, t := range strings.Split(v, ",") {
		m[strings.TrimSpace(t)] = true
	}
	return m
}

// §2.4 GET /v1/disk/resources/files: only files, no total. The order is by resource_id —
// stable between pages but deliberately not alphabetical, as recorded (§2.4, §9.13).
func (s *Server) handleFiles(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	lp, e := parseList(q, false)
	if e != nil {
		writeAPIError(w, e)
		return
	}
	media := mediaFilter(q)
	o := s.originOf(r)
	s.lockTree()
	ns, ps := s.filesByID()
	idx := make([]int, 0, len(ns))
	for i, n := range ns {
		if media == nil || media[typeOf(n.name).media] {
			idx = append(idx, i)
		}
	}
	items := []any{}
	for i := lp.offset; i < len(idx) && len(items) < lp.limit; i++ {
		items = append(items, s.render(o, ns[idx[i]], ps[idx[i]], nil))
	}
	s.mu.Unlock()
	respond(w, r, http.StatusOK, object{{"items", items}, {"limit", lp.limit}, {"offset", lp.offset}})
}

// §2.5 GET /v1/disk/resources/last-uploaded: newest upload first; keys items and limit only.
func (s *Server) handleLastUploaded(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	lp, e := parseList(q, false)
	if e != nil {
		writeAPIError(w, e)
		return
	}
	media := mediaFilter(q)
	o := s.originOf(r)
	s.lockTree()
	ns, ps := s.allFiles()
	idx := make([]int, 0, len(ns))
	for i, n := range ns {
		if n.uploadSeq > 0 && (media == nil || media[typeOf(n.name).media]) {
			idx = append(idx, i)
		}
	}
	sort.Slice(idx, func(a, b int) bool { return ns[idx[a]].uploadSeq > ns[idx[b]].uploadSeq })
	items := []any{}
	for i := 0; i < len(idx) && len(items) < lp.limit; i++ {
		items = append(items, s.render(o, ns[idx[i]], ps[idx[i]], nil))
	}
	s.mu.Unlock()
	respond(w, r, http.StatusOK, object{{"items", items}, {"limit", lp.limit}})
}

// §2.6 GET /v1/disk/trash/resources
func (s *Server) handleTrashGet(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p, _, e := s.pathParam(q, "path", areaTrash)
	if e != nil {
		writeAPIError(w, e)
		return
	}
	lp, e := parseList(q, true)
	if e != nil {
		writeAPIError(w, e)
		return
	}
	s.lockTree()
	n := s.lookup(p)
	var v object
	if n != nil {
		if p.isRoot() {
			// The trash root has placeholder dates and origin_path null (§2.6).
			v = object{
				{"path", "trash:/"},
				{"type", "dir"},
				{"name", "trash"},
				{"created", fmtTime(n.created)},
				{"modified", fmtTime(n.modified)},
				{"origin_path", nil},
				{"_embedded", s.renderList(s.originOf(r), n, p, lp)},
				{"revision", n.revision},
			}
		} else {
			v = s.render(s.originOf(r), n, p, &lp)
		}
	}
	s.mu.Unlock()
	if v == nil {
		writeAPIError(w, errNotFound())
		return
	}
	respond(w, r, http.StatusOK, v)
}

// filesByID returns every file ordered by resource_id, cached until the next change so that
// paging through a large Disk costs one walk. Callers hold s.mu.
func (s *Server) filesByID() ([]*node, []rpath) {
	if s.filesCache.rev == s.rev && s.filesCache.ns != nil {
		return s.filesCache.ns, s.filesCache.ps
	}
	ns, ps := s.allFiles()
	idx := make([]int, len(ns))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return ns[idx[a]].resourceID < ns[idx[b]].resourceID })
	sn, sp := make([]*node, len(ns)), make([]rpath, len(ns))
	for i, j := range idx {
		sn[i], sp[i] = ns[j], ps[j]
	}
	s.filesCache.rev, s.filesCache.ns, s.filesCache.ps = s.rev, sn, sp
	return sn, sp
}
