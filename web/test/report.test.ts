// The shared records report's CSV (src/vault/report.ts): the CLI's columns, formula cells defused, times in UTC.
import { describe, expect, it } from "vitest";
import type { ShareEntry } from "../src/client/owner";
import type { ShareInfo } from "../src/client/owner-api";
import { defuseCell, REPORT_COLUMNS, reportCsv } from "../src/vault/report";

function info(over: Partial<ShareInfo>): ShareInfo {
  return {
    handle: "aaaaaaaa-0000-4000-8000-000000000001",
    share_id: "AAAAAAAAAAAAAAAAAAAAAA",
    record_id: "bbbbbbbb-0000-4000-8000-000000000002",
    state: "opened",
    editable: true,
    passphrase: true,
    burn_after_secs: null,
    created_at: "2027-01-15T08:00:00Z",
    expires_at: "2027-01-16T08:00:00Z",
    opened_at: "2027-01-15T08:05:00.250Z",
    device_fingerprint: "k3vq-amx2-pl7d-4rye",
    device_key: null,
    bind_tag: null,
    ended_at: null,
    end_reason: null,
    last_access_at: "2027-01-15T08:06:00Z",
    edit_count: 2,
    key_gen: 2,
    owner_secret: "",
    label: "x",
    failed_attempts: 0,
    last_failed_at: "2027-01-15T08:04:00Z",
    refused_at: "2027-01-15T08:07:00Z",
    view_once: false,
    request: null,
    open_count: 3,
    refused_count: 1,
    failed_total: 2,
    destroy_after_secs: null,
    destroy_at: null,
    ...over,
  };
}

describe("shared records report", () => {
  it("writes one row per share with the CLI's columns", () => {
    const live: ShareEntry = { info: info({}), editable: true, legacy: false, label: "=HYPERLINK(\"http://evil.example\")", fingerprint: "k3vq-amx2-pl7d-4rye", deviceVerified: true };
    const ended: ShareEntry = {
      info: info({ handle: "cccccccc-0000-4000-8000-000000000003", state: "deleted", end_reason: "deleted", ended_at: "2027-01-15T09:00:00Z", opened_at: null, device_fingerprint: null, open_count: 0, refused_count: 0, failed_total: 0, last_failed_at: null, refused_at: null, label: null }),
      editable: false,
      legacy: false,
    };
    const csv = reportCsv([live, ended], new Map([["bbbbbbbb-0000-4000-8000-000000000002", "-Mail, private"]]));
    const lines = csv.split("\r\n");
    expect(lines[0]).toBe(REPORT_COLUMNS.join(","));
    expect(lines[0]).toBe(
      "share,record_id,record_title,label,state,end_reason,editable,passphrase,view_once,device_fingerprint,device_verified,created_at,expires_at,opened_at,ended_at,last_access_at,opens,edits,wrong_passphrases,last_wrong_passphrase_at,refused_devices,last_refused_at,problem",
    );
    expect(lines[1]).toBe(
      `aaaaaaaa-0000-4000-8000-000000000001,bbbbbbbb-0000-4000-8000-000000000002,"'-Mail, private","'=HYPERLINK(""http://evil.example"")",active,,true,true,false,k3vq-amx2-pl7d-4rye,true,2027-01-15T08:00:00Z,2027-01-16T08:00:00Z,2027-01-15T08:05:00Z,,2027-01-15T08:06:00Z,3,2,2,2027-01-15T08:04:00Z,1,2027-01-15T08:07:00Z,`,
    );
    expect(lines[2]).toBe(
      `cccccccc-0000-4000-8000-000000000003,bbbbbbbb-0000-4000-8000-000000000002,"'-Mail, private",,ended,deleted,false,true,false,,,2027-01-15T08:00:00Z,2027-01-16T08:00:00Z,,2027-01-15T09:00:00Z,2027-01-15T08:06:00Z,0,2,0,,0,,`,
    );
    expect(lines[3]).toBe("");
  });

  it("defuses cells a spreadsheet would run", () => {
    for (const [cell, out] of [
      ["=1+2", "'=1+2"],
      ["+1", "'+1"],
      ["-1", "'-1"],
      ["@SUM(A1)", "'@SUM(A1)"],
      ["\tx", "'\tx"],
      ["\rx", "'\rx"],
      ["a=b", "a=b"],
      ["", ""],
    ]) {
      expect(defuseCell(cell!)).toBe(out);
    }
  });
});
