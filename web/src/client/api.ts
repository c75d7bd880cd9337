// The HTTP contract's names, from the types generated out of the server's OpenAPI document (api.gen.ts,
// kept current by test/api-contract.test.ts), and the check that the wire types the clients use are that
// contract: a field the server renames, retypes, adds or drops fails the type check here.
import type { components } from "./api.gen";
import type * as Owner from "./owner-api";
import type { ShareStatus } from "./recipient";

export type Schemas = components["schemas"];
/** Every error code the API sends (`{"error":{"code"}}`). */
export type ErrorCode = Schemas["ErrorCode"];
/** Every kind of live owner event (§9.5). */
export type EventKind = Schemas["EventKind"];
/** A share's state as the server computes it. */
export type ShareState = Schemas["ShareState"];

/**
 * `Mine` is the generated response type `Generated`: the same fields (none renamed, added or dropped), each
 * of a type that either accepts whatever the document allows there (a wider type the client checks itself,
 * such as a KDF name) or is a narrowing of it (such as the end reasons the server writes). Resolves to
 * `true`, else to a type naming the difference.
 */
type Conforms<Mine, Generated> = [Exclude<keyof Mine, keyof Generated>] extends [never]
  ? [Exclude<keyof Generated, keyof Mine>] extends [never]
    ? Required<Generated> extends Mine
      ? true
      : Mine extends Required<Generated>
        ? true
        : { fieldTypesDiffer: Mine }
    : { missingFields: Exclude<keyof Generated, keyof Mine> }
  : { extraFields: Exclude<keyof Mine, keyof Generated> };

/** Fails to compile unless every check is `true`. */
type AllTrue<T extends true[]> = T;

/** The wire types the clients use, checked against the generated contract (a type error names the one that drifted). */
export type ContractChecks = AllTrue<
  [
    Conforms<Owner.PreloginResponse, Schemas["PreloginResponse"]>,
    Conforms<Owner.LoginResponse, Schemas["LoginResponse"]>,
    Conforms<Owner.RecordHead, Schemas["RecordHead"]>,
    Conforms<Owner.RecordJson, Schemas["Record"]>,
    Conforms<Owner.VersionWritten, Schemas["VersionWritten"]>,
    Conforms<Owner.VersionEntryJson, Schemas["VersionEntry"]>,
    Conforms<Owner.ShareInfo, Schemas["ShareInfo"]>,
    Conforms<Owner.ShareCreatedJson, Schemas["ShareCreated"]>,
    Conforms<Owner.Policy, Schemas["Policy"]>,
    Conforms<Owner.OwnerEvent, Schemas["Event"]>,
    Conforms<Required<ShareStatus>, Schemas["Status"]>,
  ]
>;
