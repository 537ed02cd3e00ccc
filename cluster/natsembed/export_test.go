package natsembed

// RouteConn is one route connection of a server, as the tests see it.
type RouteConn struct {
	// Remote is the name of the server at the other end, as its INFO
	// gave it (known before the other end has accepted the route).
	Remote string
	// InMsgs counts the messages received on the route: only a route
	// the other end accepted carries any.
	InMsgs int64
}

// RouteConns lists the route connections the server holds now.
func (s *Server) RouteConns() []RouteConn {
	rz, err := s.srv.Routez(nil)
	if err != nil {
		return nil
	}
	out := make([]RouteConn, 0, len(rz.Routes))
	for _, r := range rz.Routes {
		out = append(out, RouteConn{Remote: r.RemoteName, InMsgs: r.InMsgs})
	}
	return out
}
