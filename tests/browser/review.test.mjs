// Flows F4, F5, F7, F8, F9, F10, F12, F13 and the review half of F15 of pages.md §14: import issues, school moves and
// important notices, as users run them. Each flow runs with JavaScript and again without it; every page state
// visited is checked with axe-core (no serious or critical violations). Also: two browsers deciding one issue.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'

import { chooseType, csvFile, fixture, importClassList, launchBrowser, openTab, withService } from './harness.mjs'

let browser
before(async () => { browser = await launchBrowser() })
after(async () => { await browser?.close() })

const RUNS = [{ javaScript: true }, { javaScript: false }]
const nameOf = (flow, run) => `${flow}${run.javaScript ? '' : '-nojs'}`

async function importChildRecords (tab, path) {
  await chooseType(tab, 'Child records')
  await tab.uploadAndWait(path)
}

/** The user's CSRF token, from the Log out form of the dashboard (error pages have no forms). */
async function csrfToken (tab) {
  await tab.goto('/dashboard')
  return tab.page.locator('input[name="csrf_token"]').first().getAttribute('value')
}

for (const run of RUNS) {
  const label = run.javaScript ? 'with JavaScript' : 'without JavaScript'

  describe(`F4 import issue, use uploaded, ${label}`, () => {
    test('valid_with_changes.csv after valid.csv raises an issue that is reviewed and resolved', async () => {
      await withService({ today: '2023-05-20' }, async (service) => {
        const tab = await openTab(browser, service, { ...run, name: nameOf('F4', run) })
        await tab.signIn('nurse@example.com')
        await importChildRecords(tab, fixture('cohort_import/valid.csv'))
        await importChildRecords(tab, fixture('cohort_import/valid_with_changes.csv'))
        await tab.sees('Close matches to existing records - needs review', '1 record flagged with upload issues for review')
        await tab.page.getByText('1 upload issue', { exact: true }).click()
        await tab.sees('Matched on NHS number. Address and year group do not match.')
        await tab.page.getByRole('link', { name: /^Imports\W*1\W*$/ }).waitFor()
        await tab.check('import with an issue')

        await tab.page.getByRole('link', { name: /^Imports\W*1\W*$/ }).click()
        await tab.page.getByRole('link', { name: /^Import issues/ }).click()
        await tab.sees('1 uploaded record needs review', 'CLARKE, Jennifer', '999 000 0018')
        await tab.check('issues list')

        await tab.page.getByRole('link', { name: /^Review/ }).click()
        const reviewPath = new URL(tab.page.url()).pathname
        await tab.sees('CLARKE, Jennifer', 'Review duplicate child record', 'Uploaded record', 'Existing record',
          '10 Downing Street', 'SW1A 1AA', 'Use uploaded child record', 'Keep existing child record')
        await tab.seesNot('Keep both child records')
        const highlighted = await tab.page.locator('.app-highlight').allInnerTexts()
        assert.ok(highlighted.some((t) => t.includes('1 Whitehall') && t.includes('SW1A 1AB')), `highlighted: ${highlighted}`)
        await tab.check('review duplicate')

        // Another team: the same address is the 404 page, and a hand-made decision changes nothing.
        const other = await openTab(browser, service, { ...run, name: nameOf('F4-bradford', run) })
        await other.signIn('nurse2@example.com')
        const seen = await other.goto(reviewPath)
        assert.equal(seen.status(), 404)
        await other.sees('Page not found')
        await other.check('another team’s issue')
        const posted = await other.page.context().request.post(other.url(reviewPath), {
          form: { decision: 'use-uploaded', csrf_token: await csrfToken(other) }, maxRedirects: 0
        })
        assert.equal(posted.status(), 404)
        await other.page.context().close()

        await tab.page.getByRole('button', { name: 'Resolve duplicate' }).click()
        await tab.sees('There is a problem', 'Choose which record to keep')
        await tab.check('nothing chosen')
        await tab.page.getByLabel('Use uploaded child record').check()
        await tab.page.getByRole('button', { name: 'Resolve duplicate' }).click()
        await tab.page.waitForURL(/\/imports\/issues$/)
        await tab.sees('Success', 'Record updated', 'No issues to review.')
        assert.equal(await tab.page.getByRole('link', { name: 'Imports', exact: true }).count(), 1, 'no count left')
        await tab.check('resolved')

        await tab.goto('/imports')
        await tab.page.locator('tbody a').first().click()
        await tab.page.getByText('1 imported record').click()
        await tab.page.getByRole('link', { name: 'CLARKE, Jennifer' }).click()
        await tab.sees('1 Whitehall')
        await tab.check('child updated')
        await tab.page.context().close()
      })
    })
  })

  describe(`F5 keep both (twins), ${label}`, () => {
    test('a possible match is kept as a second child', async () => {
      await withService({ today: '2023-05-20' }, async (service) => {
        const tab = await openTab(browser, service, { ...run, name: nameOf('F5', run) })
        await tab.signIn('nurse@example.com')
        const header = 'CHILD_SCHOOL_URN,CHILD_FIRST_NAME,CHILD_LAST_NAME,CHILD_DATE_OF_BIRTH,CHILD_ADDRESS_LINE_1,CHILD_TOWN,CHILD_POSTCODE'
        await importChildRecords(tab, csvFile('twins-a.csv', `${header}\n123456,Taylor,Reed,2010-01-01,10 Downing Street,London,SW1A 1AA\n`))
        const first = tab.page.url()
        await importChildRecords(tab, csvFile('twins-b.csv', `${header}\n123456,Taylor,Reed,2010-01-01,10 Downing Street,London,SW1A 1AB\n`))
        const second = tab.page.url()
        await tab.page.getByText('1 upload issue', { exact: true }).click()
        await tab.sees('Possible match found. Review and confirm.')
        await tab.page.getByRole('link', { name: /^Review/ }).click()
        await tab.sees('Use uploaded child record', 'Keep existing child record', 'Keep both child records',
          'The existing record will stay in Mavis and the uploaded record will be added')
        await tab.check('review twins')
        await tab.page.getByLabel('Keep both child records').check()
        await tab.page.getByRole('button', { name: 'Resolve duplicate' }).click()
        await tab.page.waitForURL(second)
        await tab.sees('Record updated')
        await tab.seesNot('Close matches to existing records')
        await tab.check('kept both')

        const children = []
        for (const [url, postcode] of [[first, 'SW1A 1AA'], [second, 'SW1A 1AB']]) {
          await tab.page.goto(url)
          await tab.page.getByText('1 imported record').click()
          await tab.page.getByRole('link', { name: 'REED, Taylor' }).click()
          await tab.sees(postcode)
          children.push(tab.page.url())
        }
        assert.notEqual(children[0], children[1], 'two children')
        await tab.page.context().close()
      })
    })
  })

  describe(`F13 vaccination duplicate, ${label}`, () => {
    test('a changed batch number is reviewed and the existing record kept', async () => {
      await withService({ today: '2025-08-01' }, async (service) => {
        const tab = await openTab(browser, service, { ...run, name: nameOf('F13', run) })
        await tab.signIn('nurse@example.com')
        const header = 'ORGANISATION_CODE,SCHOOL_URN,NHS_NUMBER,PERSON_FORENAME,PERSON_SURNAME,PERSON_DOB,PERSON_GENDER_CODE,PERSON_POSTCODE,VACCINATED,DATE_OF_VACCINATION,PROGRAMME,VACCINE_GIVEN,BATCH_NUMBER,BATCH_EXPIRY_DATE,ANATOMICAL_SITE'
        const row = (batch) => `${header}\nR1L,120026,4146825652,Caden,Attwater,20120914,Male,LE1 2DA,Y,20250514,Flu,Sanofi Vaxigrip,${batch},20260730,Left Thigh\n`
        await chooseType(tab, 'Vaccination records')
        await tab.uploadAndWait(csvFile('vacc-a.csv', row('123013325')))
        await chooseType(tab, 'Vaccination records')
        await tab.uploadAndWait(csvFile('vacc-b.csv', row('ABC123')))
        const importPage = tab.page.url()
        await tab.page.getByText('1 upload issue', { exact: true }).click()
        await tab.sees('Imported record closely matches an existing record. Review and confirm.')
        await tab.page.getByRole('link', { name: /^Review/ }).click()
        await tab.sees('Review duplicate vaccination record', 'Uploaded record', 'Existing record', '123013325',
          'Use uploaded vaccination record', 'Keep existing vaccination record')
        await tab.seesNot('Keep both', 'Synced with NHS England?')
        assert.deepEqual(await tab.page.locator('.app-highlight').allInnerTexts(), ['ABC123'])
        await tab.check('review vaccination duplicate')
        await tab.page.getByLabel('Keep existing vaccination record').check()
        await tab.page.getByRole('button', { name: 'Resolve duplicate' }).click()
        await tab.page.waitForURL(importPage)
        await tab.sees('Record updated')
        await tab.seesNot('Close matches to existing records')
        await tab.check('vaccination duplicate resolved')
        await tab.page.context().close()
      })
    })
  })

  describe(`F7 school moves within the team and the export, ${label}`, () => {
    test('two class lists make four moves: one confirmed, one ignored, the confirmed one downloaded', async () => {
      await withService({ today: '2023-05-20' }, async (service) => {
        const tab = await openTab(browser, service, { ...run, name: nameOf('F7', run) })
        await tab.signIn('nurse@example.com')
        await importClassList(tab, 'Waterloo Road (URN: 141001)', fixture('class_import/valid.csv'))
        await importClassList(tab, 'Different Road (URN: 141002)', fixture('class_import/valid.csv'))
        await tab.page.getByRole('link', { name: /^School moves\W*4\W*$/ }).click()
        await tab.sees('4 school moves', 'Class list updated', 'Waterloo Road', 'to', 'Different Road', 'Review')
        await tab.check('school moves')

        await tab.page.getByRole('link', { name: /^Review/ }).first().click()
        const confirmedName = (await tab.page.locator('h1 .nhsuk-caption-l').innerText()).trim()
        await tab.sees('Review school move', 'Class list record', 'Child record', 'Waterloo Road')
        assert.deepEqual(await tab.page.locator('.app-highlight').allInnerTexts(), ['Different Road'])
        await tab.check('review school move')
        await tab.page.getByRole('button', { name: 'Update child record' }).click()
        await tab.sees('Choose whether to update the child’s record with this new information')
        await tab.check('school move not chosen')
        await tab.page.getByLabel('Update record with new school').check()
        await tab.page.getByRole('button', { name: 'Update child record' }).click()
        await tab.page.waitForURL(/\/school-moves$/)
        await tab.sees('Success', `${confirmedName}’s school record updated`, '3 school moves')
        await tab.check('school move confirmed')

        await tab.page.getByRole('link', { name: /^Review/ }).first().click()
        const ignoredName = (await tab.page.locator('h1 .nhsuk-caption-l').innerText()).trim()
        await tab.page.getByLabel('Ignore new information').check()
        await tab.page.getByRole('button', { name: 'Update child record' }).click()
        await tab.page.waitForURL(/\/school-moves$/)
        await tab.sees('Information', `${ignoredName}’s school move ignored`, '2 school moves')

        await tab.page.getByRole('button', { name: 'Download records' }).click()
        await tab.sees('Download school moves', 'From (optional)', 'To (optional)')
        await tab.check('download form')
        await tab.page.getByRole('group', { name: 'From (optional)' }).getByLabel('Day').fill('31')
        await tab.page.getByRole('group', { name: 'From (optional)' }).getByLabel('Month').fill('2')
        await tab.page.getByRole('group', { name: 'From (optional)' }).getByLabel('Year').fill('2023')
        await tab.page.getByRole('button', { name: 'Continue' }).click()
        await tab.sees('There is a problem', 'Enter a real date')
        await tab.check('download date not real')
        for (const part of ['Day', 'Month', 'Year']) await tab.page.getByRole('group', { name: 'From (optional)' }).getByLabel(part).fill('')
        await tab.page.getByRole('button', { name: 'Continue' }).click()
        await tab.sees('Check and confirm', 'Earliest recorded vaccination', 'Latest recorded vaccination', 'Records')
        await tab.check('download confirm')
        const [download] = await Promise.all([
          tab.page.waitForEvent('download'),
          tab.page.getByRole('button', { name: 'Download CSV' }).click()
        ])
        assert.equal(download.suggestedFilename(), 'school_moves_export.csv')
        const csv = readFileSync(await download.path(), 'utf8')
        assert.ok(csv.startsWith('NHS_REF,SURNAME,FORENAME'), csv.slice(0, 80))
        const surname = confirmedName.split(',')[0]
        assert.ok(csv.toUpperCase().includes(surname.toUpperCase()), `the export holds ${surname}`)
        await tab.page.context().close()
      })
    })
  })

  describe(`F8 and F9 a move across teams, its notice and who sees it, ${label}`, () => {
    test('a child moving to Bradford leaves Leeds a notice that only its super admin sees and dismisses', async () => {
      await withService({ today: '2023-05-20' }, async (service) => {
        const nurse = await openTab(browser, service, { ...run, name: nameOf('F8-nurse', run) })
        await nurse.signIn('nurse@example.com')
        await importClassList(nurse, 'Waterloo Road (URN: 141001)', fixture('class_import/valid.csv'))

        const bradford = await openTab(browser, service, { ...run, name: nameOf('F8-nurse2', run) })
        await bradford.signIn('nurse2@example.com')
        await importClassList(bradford, 'Second Team School (URN: 142001)', fixture('class_import/valid.csv'))
        await bradford.page.getByRole('link', { name: /^School moves\W*4\W*$/ }).click()
        await bradford.sees('This child is moving in from another SAIS team\'s area')
        await bradford.check('moves in from another team')
        await bradford.page.getByRole('link', { name: /^Review/ }).first().click()
        await bradford.sees('into your area from Leeds SAIS Team')
        await bradford.check('review move across teams')
        const moveUrl = new URL(bradford.page.url()).pathname
        await bradford.page.getByLabel('Update record with new school').check()
        await bradford.page.getByRole('button', { name: 'Update child record' }).click()
        await bradford.sees('’s school record updated')
        await bradford.page.context().close()

        // F9: the nurse is no super admin: no callout, no tab, 403 on every notices route.
        await nurse.goto('/dashboard')
        await nurse.seesNot('needs attention')
        await nurse.goto('/imports')
        await nurse.seesNot('Important notices')
        const refused = await nurse.goto('/imports/notices')
        assert.equal(refused.status(), 403)
        await nurse.sees('You are not authorized to perform this action.')
        await nurse.check('notices refused')
        const moveSeen = await nurse.goto(moveUrl)
        assert.equal(moveSeen.status(), 404, 'Bradford’s decided move is not Leeds’s to see')

        const admin = await openTab(browser, service, { ...run, name: nameOf('F8-superuser', run) })
        await admin.signIn('superuser@example.com')
        await admin.sees('Important notices', '1 important notice needs attention')
        await admin.check('dashboard with notices')
        await admin.page.getByRole('link', { name: '1 important notice needs attention' }).click()
        await admin.sees('Important notices', '1 notice', 'Child has moved to Bradford SAIS Team area', 'Dismiss')
        await admin.page.getByRole('link', { name: /^Important notices\W*1\W*$/ }).waitFor()
        await admin.check('notices')
        const dismissPath = new URL(await admin.page.getByRole('link', { name: /^Dismiss/ }).evaluate((a) => a.href)).pathname
        for (const path of [dismissPath]) {
          const response = await nurse.goto(path)
          assert.equal(response.status(), 403, path)
          const posted = await nurse.page.context().request.post(nurse.url(path), { form: { csrf_token: await csrfToken(nurse) }, maxRedirects: 0 })
          assert.equal(posted.status(), 403, `POST ${path}`)
        }

        // Another team's nurse: Leeds's notice is the 404 page.
        const other = await openTab(browser, service, { ...run, name: nameOf('F8-nurse2-notice', run) })
        await other.signIn('nurse2@example.com')
        const missing = await other.goto(dismissPath)
        assert.equal(missing.status(), 404)
        await other.sees('Page not found')
        await other.page.context().close()

        await admin.page.getByRole('link', { name: /^Dismiss/ }).click()
        await admin.sees('Are you sure you want to dismiss this notice?', 'This cannot be undone.')
        await admin.check('dismiss notice')
        await admin.page.getByRole('link', { name: 'No, return to notices' }).click()
        await admin.sees('1 notice')
        await admin.page.getByRole('link', { name: /^Dismiss/ }).click()
        await admin.page.getByRole('button', { name: 'Yes, dismiss this notice' }).click()
        await admin.page.waitForURL(/\/imports\/notices$/)
        await admin.sees('Success', 'Notice dismissed', 'There are currently no important notices.')
        await admin.check('notice dismissed')
        await admin.goto('/dashboard')
        await admin.seesNot('needs attention')
        await admin.page.context().close()
        await nurse.page.context().close()
      })
    })
  })
}

/** Reloads until the page shows `text` (work done in the background: PDS refreshes, the Immunisations API sync). */
async function reloadUntil (tab, text, attempts = 60) {
  const shown = (body) => (typeof text === 'string' ? body.includes(text) : text.test(body))
  for (let attempt = 0; attempt < attempts; attempt += 1) {
    if (shown(await tab.text())) return
    await tab.page.waitForTimeout(500)
    await tab.page.reload()
  }
  assert.ok(shown(await tab.text()), `${tab.name}: never saw ${text} on ${tab.page.url()}`)
}

/** The child links of the import page the tab is on: name → path. */
async function childLinks (tab) {
  await tab.page.getByText(/^\d+ imported records?$/).click()
  const links = await tab.page.locator('main a[href^="/patients/"]').evaluateAll(
    (as) => as.map((a) => [a.innerText.trim(), new URL(a.href).pathname]))
  return Object.fromEntries(links)
}

for (const run of RUNS) {
  const label = run.javaScript ? 'with JavaScript' : 'without JavaScript'

  describe(`F10 PDS notices: sensitive, deceased, invalid, ${label}`, () => {
    test('PDS flags three children and the records and notices say so', async () => {
      await withService({ today: '2023-05-20', pds: true }, async (service) => {
        const nurse = await openTab(browser, service, { ...run, name: nameOf('F10-nurse', run) })
        await nurse.signIn('nurse@example.com')
        await importChildRecords(nurse, csvFile('pds-flags.csv', [
          'CHILD_SCHOOL_URN,CHILD_FIRST_NAME,CHILD_LAST_NAME,CHILD_DATE_OF_BIRTH,CHILD_NHS_NUMBER,CHILD_ADDRESS_LINE_1,CHILD_TOWN,CHILD_POSTCODE',
          '123456,Janet,Smythe,2010-10-22,9000000025,1 Trevelyan Square,Leeds,LS1 6AE',
          '123456,Elsie,Tunney,2010-10-22,9000000041,1 Trevelyan Square,Leeds,LS1 6AE',
          '123456,Ivan,Valid,2010-10-22,9990003343,2 Park Row,Leeds,LS1 5HD', ''].join('\n')))
        await nurse.sees('3 imported records')
        const children = await childLinks(nurse)
        await nurse.check('pds flags imported')

        const admin = await openTab(browser, service, { ...run, name: nameOf('F10-superuser', run) })
        await admin.signIn('superuser@example.com')
        await reloadUntil(admin, '3 important notices need attention')
        await admin.page.getByRole('link', { name: '3 important notices need attention' }).click()
        await admin.sees('3 notices', 'Record flagged as sensitive', 'Record updated with child’s date of death', 'Record flagged as invalid')
        assert.equal(await admin.page.getByRole('link', { name: /^Dismiss/ }).count(), 2, 'no Dismiss for the invalid record')
        await admin.check('pds notices')
        // Elsie is listed unlinked on the import (deceased); the notice links to her record.
        await admin.page.getByRole('link', { name: 'TUNNEY, Elsie', exact: true }).click()
        await admin.sees('Archived', 'Date of death', '22 October 2010', 'Record updated with child’s date of death')
        await admin.check('deceased child')
        await admin.page.context().close()

        const ivan = children['VALID, Ivan']
        assert.ok(ivan, JSON.stringify(children))
        await nurse.goto(ivan)
        await nurse.sees('Record flagged as invalid')
        assert.equal(await nurse.page.locator('s', { hasText: '999 000 3343' }).count(), 1, 'the NHS number is struck through')
        await nurse.check('invalid child')
        await nurse.goto(children['SMYTHE, Janet'])
        await nurse.sees('Record flagged as sensitive')
        await nurse.seesNot('Address', 'Trevelyan Square')
        await nurse.check('sensitive child')
        await nurse.page.context().close()
      })
    })
  })

  describe(`F12 sync status of service-recorded vaccinations, ${label}`, () => {
    test('each record says whether and why it reached NHS England', async () => {
      await withService({ today: '2025-12-01', imms: true }, async (service) => {
        const tab = await openTab(browser, service, { ...run, name: nameOf('F12', run) })
        await tab.signIn('nurse@example.com')
        await importChildRecords(tab, fixture('cohort_import/valid.csv'))
        const children = await childLinks(tab)
        const token = service.token('nurse@example.com')
        const record = async (child, extra = {}) => {
          const patientId = children[child].split('/').pop()
          // Midnight: on `--today` the time of day is the machine's, so any later time is "in the future" when the
          // suite runs before it (10:15 made this red every morning).
          const response = await tab.page.context().request.post(tab.url('/api/vaccination-records'), {
            headers: { authorization: `Bearer ${token}` },
            data: {
              patient_id: patientId, programme: 'HPV', vaccine: 'gardasil_9', date: '2025-12-01', time: '00:00',
              batch: 'AB1234', batch_expiry: '2026-06-01', site: 'left arm (upper position)', dose_sequence: 1,
              performer_email: 'nurse@example.com', notify_parents: true, ...extra
            }
          })
          assert.equal(response.status(), 201, await response.text())
          return `${children[child]}/vaccinations/${(await response.json()).id}`
        }

        await tab.goto(await record('CLARKE, Jennifer'))
        await tab.sees('Synced with NHS England?')
        const first = await tab.text()
        assert.ok(first.includes('Sync pending') ? first.includes('Last synced: Never') : first.includes('Synced'), first)
        await tab.check('sync pending')
        // "Last synced" is when it happened: the machine's time (`--today` fixes only the date rules use).
        await reloadUntil(tab, /\tSynced\s+Last synced: \d{1,2} \w+ \d{4} at/)
        await tab.check('synced')

        await tab.goto(await record('DOE, Mark'))
        await tab.sees('Not synced', "You must add an NHS number to the child's record before this record will sync")
        await tab.check('not synced without an NHS number')

        await tab.goto(await record('SMITH, Jimmy', { notify_parents: false }))
        await tab.sees('Not synced', 'The child gave consent under Gillick competence and does not want their parents to be notified.')
        await tab.check('not synced, Gillick')
        await tab.page.context().close()

        const admin = await openTab(browser, service, { ...run, name: nameOf('F12-superuser', run) })
        await admin.signIn('superuser@example.com')
        await admin.goto('/imports/notices')
        await reloadUntil(admin, 'under Gillick competence')
        await admin.check('Gillick notice')
        await admin.page.context().close()
      })
    })
  })
}

describe('two browsers deciding one issue', () => {
  test('one gets "Record updated", the other a clear refusal', async () => {
    await withService({ today: '2023-05-20' }, async (service) => {
      const nurse = await openTab(browser, service, { name: 'race-nurse' })
      await nurse.signIn('nurse@example.com')
      await importChildRecords(nurse, fixture('cohort_import/valid.csv'))
      await importChildRecords(nurse, fixture('cohort_import/valid_with_changes.csv'))
      await nurse.goto('/imports/issues')
      await nurse.page.getByRole('link', { name: /^Review/ }).click()
      const review = new URL(nurse.page.url()).pathname
      const admin = await openTab(browser, service, { name: 'race-superuser' })
      await admin.signIn('superuser@example.com')
      await admin.goto(review)
      for (const tab of [nurse, admin]) await tab.page.getByLabel('Use uploaded child record').check()
      await Promise.all([nurse, admin].map((tab) => tab.page.getByRole('button', { name: 'Resolve duplicate' }).click()))
      await Promise.all([nurse, admin].map((tab) => tab.page.waitForLoadState()))
      const texts = await Promise.all([nurse.text(), admin.text()])
      const won = texts.filter((t) => t.includes('Record updated')).length
      const refused = texts.filter((t) => t.includes('This issue has already been resolved by someone else.')).length
      assert.equal(won, 1, texts.join('\n-----\n'))
      assert.equal(refused, 1)
      const loser = texts[0].includes('Record updated') ? admin : nurse
      await loser.check('lost the race')
      await nurse.goto('/imports/issues')
      await nurse.sees('No issues to review.')
      await nurse.page.context().close()
      await admin.page.context().close()
    })
  })
})

describe('F15 team isolation (review pages)', () => {
  test('another team gets the 404 page for a child and a school move', async () => {
    await withService({ today: '2023-05-20' }, async (service) => {
      const nurse = await openTab(browser, service, { name: 'F15-review' })
      await nurse.signIn('nurse@example.com')
      await importClassList(nurse, 'Waterloo Road (URN: 141001)', fixture('class_import/valid.csv'))
      await importClassList(nurse, 'Different Road (URN: 141002)', fixture('class_import/valid.csv'))
      await nurse.goto('/school-moves')
      await nurse.page.getByRole('link', { name: /^Review/ }).first().click()
      const move = new URL(nurse.page.url()).pathname
      const child = move.replace('/school-moves/', '/patients/')
      assert.equal((await nurse.goto(child)).status(), 200)
      const other = await openTab(browser, service, { name: 'F15-review-bradford' })
      await other.signIn('nurse2@example.com')
      for (const path of [move, child]) {
        const response = await other.goto(path)
        assert.equal(response.status(), 404, path)
        await other.sees('Page not found')
      }
      await other.page.context().close()
      await nurse.page.context().close()
    })
  })
})
