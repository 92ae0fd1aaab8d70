// Package emulator serves the three upstream invitation APIs invitesync talks
// to (Confluent Cloud IAM v2, VMware Cloud Services, Confluent on Azure) from
// one in-memory store, on loopback, with no credentials and no network. Tests,
// benchmarks and `make demo` run against it over real sockets.
//
// Wire shapes follow the vendors' own API descriptions to the field name;
// where they are silent the emulator guesses, offers the other plausible
// answers behind switches, and the code says "emulator guess" at each such
// place. The main ones:
//
//   - Confluent: 409 resource_already_exists + Location for a pending email
//     (switch), 409 without Location for a member; DELETE keeps the
//     invitation as INVITE_STATUS_DEACTIVATED and is idempotent on
//     expired/deactivated ones; page_size over the maximum is clamped; page
//     tokens encode the last item served (creation order), so paging is
//     stable under concurrent inserts; metadata.next carries the request's
//     filters too; validation failures answer 422 invalid_configuration; a
//     create without auth_type gets AUTH_TYPE_LOCAL (orgs have no SSO).
//     Access: the key's owner is a member holding OrganizationAdmin; the
//     emulator's own Cloud API key is not in the api-keys listing; a
//     role-binding crn_pattern ending "/*" also matches nested scopes (the
//     Confluent CLI's --inclusive), any other its scope only; a crn_pattern
//     of another org answers 403 user_unauthorized; a duplicate binding
//     answers 409 resource_already_exists (documented) with a Location (not);
//     DELETE /iam/v2/users/{id} removes the user, its API keys and its role
//     bindings at once (upstream: "is being deleted") and leaves its
//     invitations listed as they were.
//   - CSP: only csp-auth-token authenticates; DELETE of a REDEEMED
//     invitation answers 400; X-Request-Id on answers; a re-invite makes no
//     second invitation; accepting an invitation makes its invitee a member
//     with the invitation's roles (a removed member stays removed); members'
//     removal ids are "vmware.com:<userId>" (plain userIds work too); a
//     removal naming an unknown id answers 404 and removes nobody; the v3
//     roles PATCH answers 200 with no body and takes service links of both
//     /csp/slc/... and /csp/gateway/slc/... forms; org users pageLimit over
//     the maximum is clamped; role bindings' createdDate is epoch seconds.
//   - Azure: orgs exist on first use (switch); duplicates answer the ARM
//     default error (switch); the "email" search filter is honoured (clients
//     must not rely on it); pageSize default 10, max 100, clamped; any other
//     action (or method) is a 404 ARM error. listRoleBindings honours the
//     searchFilters keys crn_pattern, principal and role_name (undocumented)
//     and lists every binding without crn_pattern; deleteRoleBinding answers
//     200 when it deleted and 204 when there was nothing (the spec's two
//     successes, read as ARM's delete convention); GET on the organization
//     resource answers properties.organizationId (Organization_Get).
//
// Switches (Config.Confluent, Config.CSP, Config.Azure; emulator flags), the
// documented or most likely behaviour first, so a client is tested against
// every plausible answer and relies on none:
//
//   - Confluent email filter (--confluent-email-filter): "exact" (documented:
//     "Filter the results by exact match for email") | "fold".
//   - Confluent stored email case (--confluent-email-case): "as-sent" |
//     "lower"; undocumented (read-backs must find either).
//   - Confluent create for a pending email (--confluent-duplicate): "409"
//     (409 + Location) | "201" (a second invitation); undocumented.
//   - A second org behind the same host (--confluent-second-key, -secret,
//     -principal): that key reaches another organization id, so a plan made
//     for one org and applied with the other org's key is detectable. An
//     unknown key answers 401, another org's key id in who-am-I 404.
//   - CSP orgs (--csp-orgs, --csp-any-org): an org exists when seeded or
//     listed, and then an unknown orgId answers 404 "Organization with this
//     identifier is not found." (documented); while none is declared, every
//     orgId exists on first use (so ad-hoc runs need no setup); --csp-any-org
//     keeps that even when orgs are declared.
//   - CSP re-invite of a pending user or a member (--csp-duplicate-409):
//     202 and nothing changes for them (VMware's tooling: "always return 202
//     accepted") | 409 naming them, nothing of the call applied.
//   - CSP REDEEMED invitations (--csp-hide-redeemed): listed | left out of
//     the list (not documented either way; the org users API still has them).
//   - CSP expirationTime (--csp-expiry-seconds): epoch milliseconds, the unit
//     of every documented timestamp | seconds (its unit is not documented).
//   - CSP invitedByUsername (--csp-fill-invited-by): echoes the request's
//     invitedBy, empty when none was sent (the field's description) | the
//     token's user whatever was sent.
//   - CSP invitationExpirationInDays (--csp-ignore-expiry-days): honoured |
//     ignored, every invitation lasting 7 days (only the tcsp variant of
//     the API documents the field).
//   - CSP usernames per invite (--csp-max-usernames N, --csp-batch-too-large-413):
//     no cap (none documented) | more than N refused as too large, 400 with
//     "too many usernames: X, at most N per request" or 413.
//   - CSP refused usernames (--csp-refused-domains): none | usernames in
//     those domains make their whole invite call a 400 naming them (the
//     one bad apple a client must split around).
//   - CSP org users paging (--csp-users-page-start-is-page,
//     --csp-users-no-next-link, --csp-users-page-max): pageStart is a
//     1-based item index, nextLink on every page but the last, pageLimit up
//     to 200 (documented) | pageStart counts pages | no nextLink
//     (totalResults only) | a smaller maximum.
//   - Azure page token (--azure-next-token): "page_token" (metadata.next is a
//     Confluent URL whose page_token goes back as searchFilters.pageToken,
//     as the example pair suggests) | "link" (the whole next link must go
//     back; a bare token serves the first page again) | "token" (next is
//     the bare token).
//   - Azure duplicate create or binding (--azure-duplicate): "conflict" (409,
//     ARM default error, code Conflict) | "badrequest" (400, BadRequest) |
//     "legacy" (409 InvitationAlreadyExists / UserAlreadyExists, an old
//     guess). The spec documents only "the ARM default error".
//   - Azure timestamps (--azure-timestamps): "rfc3339" (the examples) |
//     "mixed" (.NET round-trip without zone, space-separated, US date, and
//     every seventh record's created_at no date at all).
//   - Azure organizations (--azure-orgs): empty, every org exists on first
//     use | a list: only those exist, others answer 404 ResourceNotFound as
//     ARM does.
//
// Beyond the contract (extensions):
//
//   - Config.Log (debug line per request, never credentials); Server.Expire;
//     ErrNoPending; DefaultBurst: Burst 0 means max(2, ceil(Rate/10)).
//   - Seed: "expired: true" (all APIs; an invitation whose expiry has passed),
//     "expires_at" (Confluent, Azure), "invited_by" (CSP: someone else's),
//     "csp_members" (CSP members who joined outside invitesync, with
//     org_roles and service_roles),
//     "roles" (Confluent, Azure: role bindings of the invitee's user, in the
//     roster's syntax NAME, NAME@env-x or NAME@env-x/lkc-y), "api_keys"
//     (Confluent, accepted only: ids of API keys the member owns).
//   - Stats: duplicate_grants (role-binding creates for a binding that
//     exists) and access (users, role_bindings, api_keys per API).
//   - Control: POST /_emulator/expire, POST and GET /_emulator/faults (see
//     control.go). Stats.by_route keys are the ServeMux patterns, e.g.
//     "POST /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Confluent/organizations/{organizationName}/access/default/createInvitation";
//     CSP revoke counts as "POST /csp/gateway/am/api/orgs/{orgId}/invitations?action=revoke".
//   - Reset re-seeds the fault PRNG and refills the rate limiter; ids keep
//     counting so a ledger never sees one reused.
//   - With a state file, every change is on disk (temp file, fsync, rename)
//     before it is acknowledged; concurrent changes share one write.
//   - Misbehaviour modes (misbehave.go), off by default, for tests of a
//     hostile upstream: overlap-pages, endless-pages, cycle-pages,
//     huge-lists, late-answer, late-land, cut-create, garbage-create,
//     echo-auth, escape-errors, escape-fields, clock-skew. Config.Misbehave,
//     MisbehaveDelay and HugeBodyBytes; --misbehave, --misbehave-delay and
//     --huge-body-mib; POST and GET /_emulator/misbehave; Stats.misbehaviours
//     counts the answers each changed. They rewrite requests and answers
//     around the vendor handlers, so the store stays truthful (clock-skew
//     changes what is listed, not what is held).
package emulator
