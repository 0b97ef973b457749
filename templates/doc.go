// Package templates holds trunkd's built-in engine templates, embedded in
// the binary. They are Go text/template files executed by package render,
// which supplies the data (the active trunks) and the helper functions
// (engine escapes, URIs, HA1); the templates only format.
//
// Built-in names: kamailio/uacreg, kamailio/version,
// kamailio/dispatcher.list, asterisk/pjsip.conf, freeswitch/gateways.xml.
package templates
