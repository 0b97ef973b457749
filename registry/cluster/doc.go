// Package cluster makes several trunkd nodes share the trunks of their group
// through etcd: each active trunk has exactly one owner, only the owner
// registers it, and a node that cannot prove its lease alive fences (stops
// registering) before etcd may hand its trunks to anyone else. It also
// holds the cluster-wide write lock and publishes the git head after a
// push. Without a `cluster:` section the daemon never opens a Cluster.
//
// # Use
//
//	c, err := cluster.Open(cfg, cluster.Options{Logger: log, Registerer: reg})
//	go c.Run(ctx, registrySubscription.C())   // owns every goroutine
//	sub := c.Subscribe()                      // *View, latest wins
//	... render applies View v, then: c.Applied(v.Generation())
//	unlock, err := c.Lock(ctx)                // ErrFenced while fenced
//	... commit, push; c.PublishHead(ctx, commit); unlock()
//	for h := range c.Heads() { fast-forward to h.Commit }
//	c.Leave(ctx) before a planned stop, then cancel Run; c.Close()
//
// # Keys (below Config.Prefix, default /trunkd)
//
//	nodes/<group>/<node>   membership "<node> host=<host> pid=<pid>", under the node's lease ("any" for server_index -1)
//	owner/<code>           the trunk's owner node, under the owner's lease
//	head                   "<commit> <node>" of the last published push
//	lock/<node>/<lease>    the write lock's queue, under the lease
//
// # Lease and fence
//
// A node grants a lease of LeaseTTL and renews it with one KeepAliveOnce
// every LeaseTTL/6, each bounded by that interval, retried after a fifth of
// it when it fails. It does not use the client's KeepAlive channel or a
// concurrency.Session: their "lease lost" signal comes late. It keeps the
// send time of the last acknowledged keep-alive; etcd cannot expire the
// lease before that time + TTL (the server starts the TTL when the request
// arrives, later), so the node fences at send time + TTL - FenceMargin: it
// publishes a fenced View (Fenced, nothing owned) that the renderer turns
// into the engine's fence action. Every node fences when etcd has lost its
// quorum (keep-alives need a leader). An acknowledged keep-alive on the
// same lease unfences the node (its keys never went away); when etcd says
// the lease is gone the node grants a new one, registers again and claims
// again.
//
// # Owners and the handover order
//
// The owner of a trunk is the rendezvous (highest random weight) choice
// over the group's live nodes (those with a membership key): every node
// computes the same choice, and a node's arrival or departure moves only
// the trunks it gains or loses. The owner records owner/<code> under its
// lease with a transaction If(CreateRevision == 0) Then(Put), 100 keys per
// transaction as nested transactions, each key's outcome apart. A node
// owns a trunk in its View only once it holds the key (a new owner starts
// only then). A node that must give a trunk up first publishes a View
// without it and deletes the key only after the consumer reported that
// View applied (Applied): the old owner has stopped before the key is
// free for the new one. The delete compares the key's lease and mod
// revision, so one applied late never takes a key claimed since; a delete
// whose outcome is unknown (it timed out) leaves the trunk unowned, even
// if the node wants it back, and is sent again until one answers or the
// watch shows the key changed (TestUnsureDelete): otherwise a late delete
// would free a trunk the node registers.
//
// Safety rests on the keys and the lease alone: a key under a live lease
// cannot be claimed by anyone else, so a stale mirror (a slow watch, nodes
// that disagree on who is live) can delay a handover but never make two
// owners. An owner key deleted by hand is dropped from the View at once: a
// node cannot wait for a key it no longer holds.
//
// # Watching, and a member cut off without a reset
//
// One watch follows every key below the prefix into a mirror (a listing,
// then events from its revision; the node's own transactions feed it too,
// ordered by revision). It is opened WithRequireLeader, so a member that
// lost its leader ends it instead of serving stale keys, and any error
// lists again. A member cut off by a hung connection (no reset) stays in
// the client's round-robin rotation until gRPC's keep-alive drops it, 10 s
// at the least; meanwhile a third of the requests meet it. Against that:
// every request has its own short deadline and failures are retried after
// a fifth of the keep-alive interval; keep-alives are hedged (another
// attempt to the next member every fifth of the interval while none is
// answered), so with one member hung the node's least time left before its
// fence deadline went from 0.89 s to 1.39 s (TestOneMemberCutOff under
// -race with both cores busy); the lease has a client (rotation) of
// its own, because periodic keep-alives and reconcile retries sharing one
// rotation fell into a rhythm in which every claim met the hung member;
// each watch runs on a gRPC stream of its own (the client shares one per
// context metadata, and a new watch queued behind the stuck one) and is
// given up when it does not open within two keep-alive intervals; an open
// watch silent for two intervals gets a progress request and is given up
// when that goes unanswered as long. TestOneMemberCutOff: with one of
// three members cut off the node never fences and sees another node's
// departure within 0.03-4.7 s (11 s before these measures, and claims
// failing for good 1 run in 3). The write lock's requests and
// PublishHead are retried the same way within the caller's deadline:
// TestLockWithOneMemberCutOff, the slowest write section (Lock,
// PublishHead, unlock) 1.8-1.9 s; before, the first one waited out its
// 4 s deadline on the hung member. What is retried: a timed-out attempt,
// gRPC's Unavailable, and etcd's own answers of that code during an
// election ("no leader", "leader changed", "request timed out"), which the
// client delivers without a gRPC status (TestUnavailable); a lock asked
// for at the moment the etcd leader is killed is taken once a new leader
// is elected (TestLeaderKillKeepsOwners, 0.6-1.2 s).
//
// # Figures (3-member etcd 3.4.23 on loopback, 2 shared cores, loaded machine)
//
// TestClusterFigures (TRUNKD_CLUSTER_FIGURES=1), four runs: 1,000 owner
// keys claimed in 10 transactions of 100 in 51-270 ms (p50 55-117 ms;
// each transaction waits for etcd's raft round and fsync: one flat
// transaction of 100 compares and puts took as long, 59-102 ms, so the
// per-key outcome of nested transactions costs nothing); the owner keys
// of a node killed with SIGKILL freed 3.0-3.5 s after the kill (TTL 3 s:
// the last keep-alive left at most 0.5 s before the kill, etcd checks
// expiry every 0.5 s) and the other node's View owned all its trunks
// 3.05-3.7 s after the kill (about 20 ms after the keys went); a put
// through one member seen by a watcher on another in 1.25-2.2 ms p50,
// 1.7-4.2 ms p90; a node cut off from etcd (its proxies blackholed)
// fenced 1.1-1.4 s before the first of its keys was seen deleted (20
// partitions; the margin is 1 s). TestLeaveHandsOver: Leave handed 38
// trunks over in 18 ms. TestLockSerialises: 60 lock sections from 3
// nodes at about 14 ms each (two puts and three reads).
//
// BenchmarkPlan: a reconcile pass at 10,000 trunks over 3 nodes (the
// rendezvous choice of every trunk, the owned set, the releases and the
// View it publishes: the cost of every watch event) allocates 0.9 MB in 65
// allocations (1.8 MB, 154 before the View's maps were presized); 5-18 ms
// a pass on this machine at a load of 8 on 2 cores, a figure to take as an
// upper bound.
//
// # Weight of the etcd client
//
// go.etcd.io/etcd/client/v3 v3.7.3 (works against Debian's etcd 3.4.23
// server: leases, nested transactions, LeaseValue compares and progress
// requests are all 3.4 features) brings gRPC, protobuf's gRPC gateway
// types and zap: bin/trunkd grows from 21.8 MB to 26.8 MB (+5.0 MB, +23 %),
// the modules linked into it from 22 to 36 (+14: etcd api, client/pkg,
// client/v3, grpc, genproto api and rpc, grpc-gateway, golang/protobuf,
// zap, multierr, go-semver, go-systemd, x/net, x/text), its packages from
// 311 to 436. It is the one maintained client of etcd's v3 API; talking to
// etcd's JSON gateway by hand would drop gRPC but reimplement watches,
// retries and the members' balancing. The daemon pays it only in binary
// size: without `cluster:` none of it runs.
//
// # File layout
//
// cluster.go is the hub: the Cluster struct holds the state every other
// file works on, Open builds it and Run starts the loops of their files.
// Each concept has its file and uses the Cluster's fields, while
// cluster.go names its type in the struct or starts it: head.go (Head,
// the heads channel), lease.go (leaseState, keepLease, the fence
// checks), lock.go (lockKey of the held and stale locks), membership.go
// (holderOf, the membership key's value), metrics.go (newMetrics),
// owners.go (reconcileLoop), view.go (View, built by buildView) and
// watch.go (watch). Those eight file pairs refer both ways by design. The
// ninth is lease.go and leave.go: a Leave ends the lease (leave.go uses
// its state and revokes it) and the keep-alive loop is where a Leave in
// progress learns the node holds nothing any more (closeLeftLocked,
// leavingLocked). Everything else refers one way: config.go holds the
// Config, mirror.go the keys and the node's copy of them; every retry
// after an etcd failure pauses with lease.go's sleep.
//
// # Decisions where the contract is silent
//
//   - The consumer's confirmation has no timeout: a renderer that never
//     applies a View keeps its trunks on this node (a stuck consumer keeps
//     ownership rather than risk two registrants). The fence covers a lost
//     lease; a stuck renderer is visible in render's own metrics.
//   - A node starts fenced and joins when etcd answers; Open does not wait
//     for etcd, so a node comes up (not ready) while etcd is down.
//   - Fencing never deletes keys: the lease expiring in etcd does, so no
//     other node can claim a trunk before the fenced node's deadline +
//     margin. A fenced node whose lease survived (etcd came back in time)
//     resumes with it; no trunk changes owner.
//   - Run does not revoke the lease when it returns: the keys expire after
//     LeaseTTL, by when the systemd ExecStopPost fence action has stopped
//     the engine. Revoking at once could hand trunks over while the engine
//     still registers. A planned stop calls Leave first: the trunks move
//     with the same handover order (the consumer confirms), then the lease
//     is revoked.
//   - FenceMargin defaults to LeaseTTL/3 (1 s at 3 s): it covers the fence
//     action and scheduling delays on a loaded machine. The node rides out
//     an etcd outage of TTL - margin - TTL/6 to TTL - margin (1.5-2 s at
//     the defaults). An etcd leader election must be shorter: keep etcd's
//     --election-timeout at 500 ms (etcdtest's setting) or raise lease_ttl;
//     with etcd's default 1 s election timeout a leader's kill can fence
//     every node for a few hundred milliseconds (no owner changes).
//   - Lease TTLs are whole seconds (etcd's unit), at least 2 s; etcd may
//     grant more than asked (its minimum TTL) and the node uses the granted
//     TTL.
//   - Ownership covers every trunk active in the group (enabled, matching
//     server_index), registering or not: the prober's bind mode follows it.
//   - trunkd_cluster_ownership_changes_total counts the trunks this node
//     gained or gave up (a lost lease counts each trunk it held); fencing
//     itself is counted by trunkd_cluster_fences_total.
//   - Heads delivers only heads other nodes published; the head present at
//     start is delivered once.
//   - A trunk is claimed by its rendezvous choice only. While the chosen
//     node has not seen the trunk yet (its git checkout is behind), the
//     trunk stays unowned: trunkd_cluster_unowned_trunks shows it, and it
//     is claimed as soon as that node's snapshot has it.
//   - All nodes under one prefix should agree on using server_index or
//     not: a node without it (group "any") wants every trunk and competes
//     with the nodes of each group; the claim keys keep even that to one
//     owner per trunk, but the choice is no longer the rendezvous one.
//   - Membership is a claim: the key is put in a transaction that succeeds
//     only where it does not exist (CreateRevision == 0); a key already
//     under the node's own lease (a retry whose first answer was lost)
//     counts as claimed. A key under another lease means another process
//     uses this cluster.node: the node stays fenced (owns nothing, refuses
//     writes), logs an error naming cluster.node, the key and the other
//     holder (its value names host and pid, and its lease), reports it in
//     View.Conflict and View.FenceReason and the metric
//     trunkd_cluster_node_name_conflict, and retries every keep-alive
//     interval and on every watch event; it joins once that lease is gone.
//     Owner keys alone would keep one owner per trunk, but two processes
//     taking turns on one membership key leave a live node out of the
//     others' rendezvous choice and let each act on the other's key.
//     TestDuplicateNodeName.
//   - A node restarted under the same name waits for its previous lease
//     to expire (at most LeaseTTL) before it joins and claims its trunks
//     again: it cannot tell its earlier self from a second node
//     misconfigured with the same name, and reports the conflict meanwhile.
//     Leave on a planned stop (it revokes the lease) avoids the gap.
//   - A View is published for every change in it, the owners of other
//     nodes' trunks included (the status page reads them); consumers that
//     only register compare Owns and Fenced.
//   - The lock refuses a fenced node (ErrFenced) before and after waiting
//     in the queue, and checks that its key survived the wait. It
//     serialises writers to spare them push retries; the git remote's
//     fast-forward check stays the guard of correctness: a holder whose
//     lease runs out in the middle of a write may overlap with the next
//     holder, and then one push is rejected and retried. Unlock deletes
//     the key in attempts each bounded by the keep-alive interval, for up
//     to 2 s; a key still there (etcd unreachable) is deleted by the
//     reconcile loop and before the node's next Lock, since under the
//     node's live lease it would hold every other node's writes for as
//     long as the node runs.
package cluster
