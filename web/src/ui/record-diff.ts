// Turns an edit into a change that can be re-applied: if someone else wrote a version while this user was
// editing, only what this user changed is applied on top of the newer version.
import type { RecordBody } from "../protocol/record";

/** The change from `before` to `after`, as a function of whatever body is current when it is written. */
export function changeBetween(before: RecordBody, after: RecordBody): (current: RecordBody) => RecordBody {
  const beforeFields = new Map(before.fields.map((f) => [f.name, f]));
  const afterNames = new Set(after.fields.map((f) => f.name));
  const changed = after.fields.filter((f) => {
    const old = beforeFields.get(f.name);
    return !old || old.value !== f.value || old.kind !== f.kind;
  });
  const removed = before.fields.filter((f) => !afterNames.has(f.name)).map((f) => f.name);
  return (current) => {
    const fields = current.fields.filter((f) => !removed.includes(f.name)).map((f) => ({ ...f }));
    for (const field of changed) {
      const existing = fields.find((f) => f.name === field.name);
      if (existing) {
        existing.value = field.value;
        existing.kind = field.kind;
      } else {
        fields.push({ ...field });
      }
    }
    return {
      ...current,
      title: after.title !== before.title ? after.title : current.title,
      notes: after.notes !== before.notes ? after.notes : current.notes,
      fields,
    };
  };
}

/** Whether an edit changes anything at all. */
export function isUnchanged(before: RecordBody, after: RecordBody): boolean {
  return JSON.stringify(before) === JSON.stringify(after);
}
