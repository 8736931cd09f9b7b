import { isAddressVisitor } from '../domain/links/visitor.ts';
import { userDevicesKey } from './keys.ts';
import type { Store } from './store.ts';

/** What identifies a user's device: hashed `X-Device-Id`s and `fission_vid` visitor ids. */
export interface DeviceMarks {
  devices: readonly (string | undefined)[];
  visitors: readonly (string | undefined)[];
}

/** No device or visitor. */
export const NO_DEVICE: DeviceMarks = { devices: [], visitors: [] };

/**
 * How many of each a user keeps. The device signal comes from the client, so it only catches
 * sharing that the client reports honestly: the bound keeps the item small, not a fraudster out.
 */
export const MAX_USER_DEVICES = 50;

const present = (xs: readonly (string | undefined)[]) => xs.filter((x): x is string => Boolean(x));
/** Visitors that stand for one browser: not an IP + User-Agent hash, which many people share. */
const browsers = (xs: readonly (string | undefined)[]) => present(xs).filter((x) => !isAddressVisitor(x));

/**
 * Remembers the devices and visitors a user sent (string sets: adding one twice keeps one),
 * while the user holds fewer than MAX_USER_DEVICES of that kind; past that, no more are added.
 */
export async function rememberUserDevices(store: Store, userId: string, marks: DeviceMarks): Promise<void> {
  const sets = [
    ['devices', present(marks.devices)],
    ['visitors', browsers(marks.visitors)],
  ] as const;
  await Promise.all(
    sets
      .filter(([, values]) => values.length > 0)
      .map(([name, values]) =>
        store
          .update({
            key: userDevicesKey(userId),
            update: `ADD ${name} :v SET entity = :entity, userId = :user`,
            condition: `attribute_not_exists(${name}) OR size(${name}) < :max`,
            values: { ':v': new Set(values), ':max': MAX_USER_DEVICES, ':entity': 'user-devices', ':user': userId },
            onFail: () => new DevicesFullError(),
          })
          .catch((e) => {
            if (!(e instanceof DevicesFullError)) throw e;
          }),
      ),
  );
}
class DevicesFullError extends Error {}

/**
 * Whether two users share a device or visitor: one the first has sent and the second has sent or
 * `also` names (the device and visitor of the click or request at hand). One read of both users.
 */
export async function shareDevice(store: Store, first: string, second: string, also: DeviceMarks): Promise<boolean> {
  const items = await store.batchGet<{ userId: string; devices?: Set<string>; visitors?: Set<string> }>(
    [userDevicesKey(first), ...(second === first ? [] : [userDevicesKey(second)])],
    true,
  );
  const a = items.find((i) => i.userId === first);
  if (!a) return false;
  const b = items.find((i) => i.userId === second);
  const meets = (mine: Set<string> | undefined, theirs: Iterable<string>) => {
    for (const x of theirs) if (mine?.has(x)) return true;
    return false;
  };
  return (
    meets(a.devices, [...(b?.devices ?? []), ...present(also.devices)]) ||
    meets(a.visitors, browsers([...(b?.visitors ?? []), ...also.visitors]))
  );
}
