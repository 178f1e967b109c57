// Flows F1, F2, F3, F6, F11, F14 and the import half of F15 of pages.md §14, as a user runs them: clicks, keyboard,
// the file chooser. Each flow runs with JavaScript and again without it; F1 also at 375 px wide. Every page state
// visited is checked with axe-core (no serious or critical violations).

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'

import { chooseType, csvFile, fixture, launchBrowser, openTab, withService } from './harness.mjs'

let browser
before(async () => { browser = await launchBrowser() })
after(async () => { await browser?.close() })

const RUNS = [{ javaScript: true }, { javaScript: false }]

for (const run of [...RUNS, { javaScript: true, width: 375 }]) {
  const label = `${run.javaScript ? 'with' : 'without'} JavaScript${run.width ? ` at ${run.width} px` : ''}`
  describe(`F1 child records and F3 re-upload, ${label}`, () => {
    test('a nurse imports valid.csv, reads the summary, opens a child, then uploads it again', async () => {
      await withService({ today: '2023-05-20' }, async (service) => {
        const tab = await openTab(browser, service, { ...run, name: `F1${run.javaScript ? '' : '-nojs'}${run.width ? `-${run.width}` : ''}` })
        await tab.signIn('nurse@example.com')
        await tab.sees('Manage vaccinations in schools (Mavis)', 'Import records')
        await tab.seesNot('Important notices')
        await tab.check('dashboard')

        await tab.page.getByRole('link', { name: 'Import records' }).first().click()
        await tab.sees('Import records', 'Recent imports', 'No imports')
        await tab.seesNot('Important notices')
        await tab.check('imports, none yet')

        await tab.page.getByRole('button', { name: 'Import records' }).click()
        await tab.sees('What type of records are you importing?')
        await tab.page.getByRole('button', { name: 'Continue' }).click()
        await tab.sees('There is a problem', 'Choose which type of records you are importing')
        assert.match(await tab.page.title(), /^Error: /)
        await tab.check('type not chosen')

        await tab.page.getByLabel('Child records').check()
        await tab.page.keyboard.press('Enter')
        await tab.page.waitForURL(/child-records$/)
        await tab.sees('Import child records', 'How to format your Mavis CSV file for child records')
        await tab.check('upload page')

        await tab.page.getByRole('button', { name: 'Continue' }).click()
        await tab.sees('There is a problem', 'Choose a file')
        await tab.check('no file chosen')

        await tab.chooseFile(fixture('cohort_import/valid.csv'))
        await tab.page.getByRole('button', { name: 'Continue' }).click()
        await tab.page.waitForURL(/\/imports\/[0-9a-f-]{36}$/)
        await tab.sees('Import processing started')
        assert.match(await tab.page.locator('h1').innerText(), /^Import \(\d{1,2} \w+ \d{4} at \d{1,2}:\d{2}[ap]m\)$/)
        await tab.check('import started')
        for (let i = 0; i < 60 && !(await tab.text()).includes('Completed'); i += 1) {
          await tab.page.waitForTimeout(500)
          await tab.page.reload()
        }
        await tab.sees('Uploaded by', 'USER, Test', 'valid.csv', 'Child records', 'Records', '3 records found in the file:',
          '3 new records imported', '0 duplicates not imported')
        await tab.page.getByText('3 imported records').click()
        await tab.sees('Name and NHS number', 'Postcode', 'School', 'Date of birth', 'SMITH, Jimmy', 'CLARKE, Jennifer',
          '999 000 0018', '1 January 2010', 'SW1A 1AA')
        await tab.check('completed')

        await tab.page.getByRole('link', { name: 'DOE, Mark' }).click()
        await tab.sees('DOE, Mark', 'Child record', 'Unknown school')
        await tab.check('child record')

        await tab.goto('/imports')
        await tab.sees('Child records', 'Completed', 'valid.csv', '3')
        await tab.check('imports list')

        // F3: the same file again.
        await chooseType(tab, 'Child records')
        await tab.uploadAndWait(fixture('cohort_import/valid.csv'))
        await tab.sees('No records imported', 'All records in this CSV file had already been imported.', '3 duplicates not imported')
        await tab.check('no records imported')
        await tab.page.context().close()
      })
    })
  })
}

for (const run of RUNS) {
  const label = run.javaScript ? 'with JavaScript' : 'without JavaScript'
  describe(`F2 invalid rows and file errors, ${label}`, () => {
    test('row errors are grouped by row, a malformed and an empty file say what is wrong', async () => {
      await withService({ today: '2023-05-20' }, async (service) => {
        const tab = await openTab(browser, service, { ...run, name: `F2${run.javaScript ? '' : '-nojs'}` })
        await tab.signIn('nurse@example.com')
        await chooseType(tab, 'Child records')
        await tab.uploadAndWait(fixture('cohort_import/invalid_fields.csv'), 'Invalid')
        await tab.sees('Upload failed', 'Correct the issues listed, save the changes and upload the file again.',
          'How to format your Mavis CSV file for child records', 'Row 2', 'CHILD_DATE_OF_BIRTH: Enter a date of birth.',
          'CHILD_SCHOOL_URN: Enter a school URN.', 'Row 15',
          'CHILD_SCHOOL_URN: The school URN is not recognised. If you’ve checked the URN, and you believe it’s valid, contact our support team.')
        const rows = await tab.page.locator('[data-testid="import-errors"] h3').allInnerTexts()
        assert.equal(rows.length, 20)
        assert.ok(!rows.includes('Row 14'))
        await tab.seesNot('Imported records')
        await tab.check('invalid rows')
        const download = await Promise.all([
          tab.page.waitForEvent('download'),
          tab.page.getByRole('link', { name: 'Download the issues as a CSV file (row, column, message)' }).click()
        ])
        const csv = await (await download[0].createReadStream()).toArray()
        const text = Buffer.concat(csv).toString()
        assert.match(text, /^row,column,message\n/)
        assert.match(text, /2,CHILD_DATE_OF_BIRTH,Enter a date of birth\./)

        await chooseType(tab, 'Child records')
        await tab.uploadAndWait(fixture('cohort_import/malformed.csv'), 'Invalid')
        await tab.sees('CSV', 'Choose a CSV file in the correct format')
        await tab.check('malformed')

        await chooseType(tab, 'Vaccination records')
        await tab.uploadAndWait(fixture('immunisation_import/point_of_care/empty.csv'), 'Invalid')
        await tab.sees('CSV', 'Choose a CSV file with at least one record')
        await tab.check('empty')

        await tab.goto('/imports')
        const tags = await tab.page.locator('tbody .nhsuk-tag').allInnerTexts()
        assert.deepEqual(tags, ['Invalid', 'Invalid', 'Invalid'])
        const records = await tab.page.locator('tbody td.nhsuk-table__cell--numeric').allInnerTexts()
        assert.deepEqual(records.map((r) => r.replace('Records', '').trim()), ['0', '0', '0'])
        await tab.check('three invalid')
        await tab.page.context().close()
      })
    })
  })

  describe(`F6 class list wizard, ${label}`, () => {
    test('the school and year groups are asked for, then the class list imports', async () => {
      await withService({ today: '2023-05-20' }, async (service) => {
        const tab = await openTab(browser, service, { ...run, name: `F6${run.javaScript ? '' : '-nojs'}` })
        await tab.signIn('nurse@example.com')
        await chooseType(tab, 'Class list records')
        await tab.sees('Which school is this class list for?')
        await tab.page.getByRole('button', { name: 'Continue' }).click()
        await tab.sees('Choose which school this class list is for')
        await tab.check('school not chosen')
        await tab.page.getByLabel('Which school is this class list for?').selectOption({ label: 'Waterloo Road (URN: 141001)' })
        await tab.page.getByRole('button', { name: 'Continue' }).click()
        await tab.sees('Which year groups do you want to import class list records for?', 'Waterloo Road', 'Year 7', 'Year 11')
        await tab.check('year groups')
        await tab.page.getByRole('button', { name: 'Continue' }).click()
        await tab.sees('Choose which year groups you want to import class list records for')
        await tab.check('year groups not chosen')
        for (const year of ['Year 8', 'Year 9', 'Year 10', 'Year 11']) await tab.page.getByLabel(year, { exact: true }).check()
        await tab.page.getByRole('button', { name: 'Continue' }).click()
        await tab.sees('Import class list records', 'Waterloo Road', 'How to format your Mavis CSV file for class lists')
        await tab.check('class list upload')
        await tab.uploadAndWait(fixture('class_import/valid.csv'))
        await tab.sees('Class list records', 'Waterloo Road', 'Year 8, Year 9, Year 10, and Year 11', '4 imported records')
        await tab.check('class list completed')
        await tab.goto('/imports')
        await tab.sees('Class list records', 'Waterloo Road')
        await tab.goto('/imports/new/class-list/year-groups?school=111222')
        await tab.sees('Choose which school this class list is for')
        await tab.page.context().close()
      })
    })
  })

  describe(`F11 vaccination records, ${label}`, () => {
    test('a point-of-care vaccination file imports and its records open', async () => {
      await withService({ today: '2025-08-01' }, async (service) => {
        const tab = await openTab(browser, service, { ...run, name: `F11${run.javaScript ? '' : '-nojs'}` })
        await tab.signIn('nurse@example.com')
        await chooseType(tab, 'Vaccination records')
        await tab.sees('Import vaccination records', 'You can import vaccination records by uploading:', 'a Mavis CSV file', 'a SystmOne file')
        await tab.check('vaccination upload')
        await tab.uploadAndWait(fixture('immunisation_import/point_of_care/valid_flu.csv'))
        await tab.sees('Vaccination records', '11 records found in the file:', '11 new records imported')
        await tab.page.getByText('11 imported records').click()
        await tab.sees('Full name', 'NHS number', 'Date of birth', 'Vaccination date', 'PICKLE, Chyna', '742 018 0008',
          '12 September 2012', '14 May 2025')
        await tab.check('vaccinations completed')
        await tab.page.getByRole('link', { name: 'PICKLE, Chyna' }).click()
        await tab.sees('Vaccination details', 'Vaccinated', 'Flu', 'Uploaded as a historical vaccination')
        await tab.seesNot('Synced with NHS England?')
        await tab.check('vaccination record')
        await tab.page.getByRole('link', { name: 'PICKLE, Chyna' }).first().click()
        await tab.sees('Archived')
        await tab.check('archived child')
        await tab.page.context().close()
      })
    })
  })

  describe(`F14 national reporting, ${label}`, () => {
    test('a reporter gets only the vaccination upload', async () => {
      await withService({ today: '2025-12-01' }, async (service) => {
        const tab = await openTab(browser, service, { ...run, name: `F14${run.javaScript ? '' : '-nojs'}` })
        await tab.signIn('reporter@example.com')
        await tab.sees('Upload flu and HPV vaccination records and share them with NHS England')
        await tab.seesNot('School moves')
        await tab.check('reporter dashboard')
        await tab.page.getByRole('link', { name: 'Import records' }).first().click()
        await tab.sees('Use this page to upload and import vaccination records.', 'your team’s start date with Mavis national reporting', 'Recent imports')
        await tab.seesNot('Import issues', 'Important notices')
        await tab.page.getByRole('button', { name: 'Import records' }).click()
        await tab.sees('Import vaccination records', 'You can upload vaccination records for flu or HPV. Mavis will detect which vaccination programme the records are for.',
          'How to format your CSV file for vaccination records')
        await tab.check('reporter upload')
        await tab.uploadAndWait(fixture('immunisation_import/national_reporting/valid_mixed_flu_hpv.csv'))
        await tab.sees('3 records found in the file:', '2 new records imported', '0 duplicates not imported', '1 ‘not vaccinated’ record not imported')
        await tab.check('reporter completed')
        await tab.goto('/imports')
        assert.equal(await tab.page.locator('th', { hasText: 'Type' }).count(), 0, 'no Type column')
        for (const path of ['/imports/new/child-records', '/imports/new/class-list/school', '/imports/issues', '/school-moves']) {
          const response = await tab.goto(path)
          assert.equal(response.status(), 403, path)
          await tab.sees('You are not authorized to perform this action.')
        }
        await tab.page.context().close()
      })
    })
  })
}

describe('F15 pagination and team isolation (imports)', () => {
  test('21 imports page by 20, and another team sees the 404 page', async () => {
    await withService({ today: '2023-05-20' }, async (service) => {
      const tab = await openTab(browser, service, { name: 'F15' })
      await tab.signIn('nurse@example.com')
      let importPath
      for (let n = 1; n <= 21; n += 1) {
        await tab.goto('/imports/new/child-records')
        await tab.chooseFile(csvFile(`one-${n}.csv`, `CHILD_SCHOOL_URN,CHILD_FIRST_NAME,CHILD_LAST_NAME,CHILD_DATE_OF_BIRTH,CHILD_POSTCODE\n123456,Pat${String.fromCharCode(96 + n)},Row,2010-01-01,SW1A 1AA\n`))
        await tab.page.getByRole('button', { name: 'Continue' }).click()
        await tab.page.waitForURL(/\/imports\/[0-9a-f-]{36}$/)
        importPath = new URL(tab.page.url()).pathname
      }
      await tab.goto('/imports')
      assert.equal(await tab.page.locator('tbody tr').count(), 20)
      await tab.sees('21 imports')
      await tab.check('first page')
      await tab.page.getByRole('link', { name: /Next/ }).click()
      assert.equal(await tab.page.locator('tbody tr').count(), 1)
      await tab.check('second page')
      await tab.page.getByRole('link', { name: /Previous/ }).click()
      assert.equal(await tab.page.locator('tbody tr').count(), 20)

      const other = await openTab(browser, service, { name: 'F15-bradford' })
      await other.signIn('nurse2@example.com')
      const response = await other.goto(importPath)
      assert.equal(response.status(), 404)
      await other.sees('Page not found')
      await other.check('another team')
      await other.page.context().close()
      await tab.page.context().close()
    })
  })
})

describe('security', () => {
  test('a POST without the CSRF token is refused, a cookie replayed after sign-out signs nobody in, names are text', async () => {
    await withService({ today: '2023-05-20' }, async (service) => {
      const tab = await openTab(browser, service, { name: 'security' })
      tab.page.on('dialog', () => assert.fail('a script from the uploaded file ran'))
      await tab.signIn('nurse@example.com')
      const refused = await tab.page.context().request.post(tab.url('/imports/new'), { form: { type: 'child-records' }, maxRedirects: 0 })
      assert.equal(refused.status(), 403)

      // Names must be letters, so the hostile text goes where free text is allowed: the address.
      await chooseType(tab, 'Child records')
      await tab.uploadAndWait(csvFile('hostile.csv', 'CHILD_SCHOOL_URN,CHILD_FIRST_NAME,CHILD_LAST_NAME,CHILD_DATE_OF_BIRTH,CHILD_ADDRESS_LINE_1,CHILD_POSTCODE\n123456,Hugo,Hostile,2010-01-01,<script>alert(1)</script>,SW1A 1AA\n'))
      await tab.page.getByText('1 imported record').click()
      await tab.page.getByRole('link', { name: 'HOSTILE, Hugo' }).click()
      await tab.sees('<script>alert(1)</script>')
      await tab.check('hostile text shown as text')

      const cookies = await tab.page.context().cookies()
      await tab.page.getByRole('button', { name: 'Log out' }).click()
      await tab.sees('You are signed out')
      const replay = await browser.newContext()
      await replay.addCookies(cookies.filter((c) => c.name === 'mavis_session'))
      const page = await replay.newPage()
      await page.goto(tab.url('/dashboard'))
      assert.match(page.url(), /\/interaction\/|sign-in/, 'the replayed cookie is sent to sign in')
      await replay.close()
      await tab.page.context().close()
    })
  })
})
