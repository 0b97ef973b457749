// Package templates holds trunkd's built-in engine templates, embedded in
// the binary. They are Go text/template files executed by package render,
// which supplies the data (the active trunks) and the helper functions
// (engine escapes, URIs, HA1); the templates only format.
//
// Built-in names: kamailio/uacreg, kamailio/version,
// kamailio/dispatcher.list, asterisk/pjsip.conf, freeswitch/gateways.xml.
//
// Every template with trunks is written as the blocks "header", "trunk"
// (its only data is one trunk) and "footer" (uacreg adds "number", its row
// id) plus a main template that puts them together: package render keeps
// each trunk's output and, after a change, executes "trunk" for the
// changed trunks only. Every block ends at a line end, and the main
// template must render exactly what the blocks render; see package
// render's documentation.
//
// Registering parts (uacreg rows, pjsip registration sections, FreeSWITCH
// register=true and expire-seconds) depend on .Registers (or range over
// .Registering) only: in a cluster it is false for the trunks another
// node owns and for every trunk while this node is fenced, and the rest
// of each trunk's output (routing) stays the same on every node.
package templates
