// What the small SDK scripts (events_consents, exports) share: an official-SDK client for the
// server and project in PATRONS_URL / APP_ID / APP_TOKEN, and `step`, which runs one check and
// reports it (a failing step is printed and the run goes on); `finish` prints the tally and
// exits non-zero if a step failed. customers.test.mjs keeps its own, wire-logging client.

import voucherifySdk from '@voucherify/sdk'

const { VoucherifyServerSide } = voucherifySdk
const script = process.argv[1]?.split('/').pop() ?? 'script'

const env = (name) => {
  const value = process.env[name]
  if (!value) {
    console.error(`${script}: environment variable ${name} is required`)
    process.exit(2)
  }
  return value
}

export const client = VoucherifyServerSide({
  applicationId: env('APP_ID'),
  secretKey: env('APP_TOKEN'),
  apiUrl: env('PATRONS_URL').replace(/\/+$/, ''),
  timeoutMs: 20000,
})

let failed = 0
let passed = 0

export async function step(name, fn) {
  try {
    await fn()
    passed += 1
    console.log(`PASS ${name}`)
  } catch (error) {
    failed += 1
    console.log(`FAIL ${name}: ${error?.stack ?? error}`)
    if (error?.cause?.response) console.log(JSON.stringify(error.cause.response.data))
  }
}

export function finish() {
  console.log(`${script}: ${passed} passed, ${failed} failed`)
  process.exit(failed ? 1 : 0)
}
