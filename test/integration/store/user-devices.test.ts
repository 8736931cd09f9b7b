import { beforeAll, describe, expect, it } from 'vitest';
import { userDevicesKey } from '#shared/store/keys';
import { MAX_USER_DEVICES, NO_DEVICE, rememberUserDevices, shareDevice } from '#shared/store/user-devices';
import { createHarness, type Harness } from '../../support/harness.ts';

describe('Users’ devices (DynamoDB Local)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness();
  });
  const remember = (userId: string, devices: string[], visitors: string[] = []) =>
    rememberUserDevices(h.deps.store, userId, { devices, visitors });

  it('two users share a device or visitor either has sent, or one the request at hand names', async () => {
    await remember('ud-a', ['d1', 'd2'], ['v1']);
    await remember('ud-b', ['d3']);
    await remember('ud-c', [], ['v1']);
    const { store } = h.deps;
    expect(await shareDevice(store, 'ud-a', 'ud-b', NO_DEVICE)).toBe(false);
    expect(await shareDevice(store, 'ud-a', 'ud-b', { devices: ['d2'], visitors: [] })).toBe(true);
    expect(await shareDevice(store, 'ud-a', 'ud-c', NO_DEVICE)).toBe(true); // one browser
    expect(await shareDevice(store, 'ud-a', 'ud-nobody', { devices: [undefined], visitors: ['v2'] })).toBe(false);
    expect(await shareDevice(store, 'ud-nobody', 'ud-a', { devices: ['d1'], visitors: [] })).toBe(false);
    await remember('ud-b', ['d1']);
    expect(await shareDevice(store, 'ud-a', 'ud-b', NO_DEVICE)).toBe(true);
  });

  it('takes no IP + User-Agent hash for a browser: many people behind one address share it', async () => {
    const address = `h${'a'.repeat(27)}`;
    await remember('ud-addr-1', [], [address, 'browser-1']);
    await remember('ud-addr-2', [], [address]);
    const { store } = h.deps;
    expect(await shareDevice(store, 'ud-addr-1', 'ud-addr-2', NO_DEVICE)).toBe(false);
    expect(await shareDevice(store, 'ud-addr-1', 'ud-nobody', { devices: [], visitors: [address] })).toBe(false);
    expect(await shareDevice(store, 'ud-addr-1', 'ud-nobody', { devices: [], visitors: ['browser-1'] })).toBe(true);
    const item = (await store.get(userDevicesKey('ud-addr-1'), true)) as { visitors: Set<string> };
    expect([...item.visitors]).toEqual(['browser-1']);
  });

  it('keeps each device once, and at most MAX_USER_DEVICES of them, however many requests add at once', async () => {
    await Promise.all(Array.from({ length: 80 }, (_, i) => remember('ud-many', [`d-${i % 60}`, 'd-same'])));
    const item = (await h.deps.store.get(userDevicesKey('ud-many'), true)) as { devices: Set<string> };
    expect(item.devices.has('d-same')).toBe(true);
    // Each update checks the size before it adds its two: the last one may pass the bound by one.
    expect(item.devices.size).toBeGreaterThanOrEqual(MAX_USER_DEVICES);
    expect(item.devices.size).toBeLessThanOrEqual(MAX_USER_DEVICES + 1);
  });
});
