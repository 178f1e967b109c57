// Enhancements only: every page works without this file. NHS.UK frontend's components first, then ours:
// - the upload form sends the file to the object store with a progress bar of bytes sent (the page otherwise posts
//   the same form, which the store answers with a redirect);
// - an import that is still processing updates its progress text by itself and reloads once its status changes.
import { initAll } from './nhsuk-frontend.min.js'

// Double-click prevention is per button (data-prevent-double-click), not global: the upload form guards itself.
initAll()

for (const form of document.querySelectorAll('form[data-module="app-upload"]')) {
  enhanceUpload(form)
}
for (const element of document.querySelectorAll('[data-module="app-import-progress"]')) {
  followProgress(element)
}

function enhanceUpload (form) {
  const input = form.querySelector('input[type="file"]')
  const bar = form.querySelector('progress')
  const jsFields = JSON.parse(form.dataset.jsFields || '{}')
  const maxBytes = Number(form.dataset.maxBytes || 0)
  let sending = false
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    if (sending) return
    const file = input && input.files && input.files[0]
    if (!file || file.size === 0) {
      showError(form, input, form.dataset.errorNoFile)
      return
    }
    if (maxBytes && file.size > maxBytes) {
      showError(form, input, form.dataset.errorTooLarge)
      return
    }
    // The script's own signed fields: the same policy, answered with 201 rather than a redirect, which a script
    // cannot follow across origins. The store refuses fields its policy does not name, so these alone, and the file
    // last, as it requires.
    const body = new FormData()
    for (const [name, value] of Object.entries(jsFields)) body.append(name, value)
    body.append(input.name, file)
    sending = true
    const request = new XMLHttpRequest()
    request.open('POST', form.action)
    if (bar) {
      bar.hidden = false
      bar.value = 0
      request.upload.addEventListener('progress', (progress) => {
        if (progress.lengthComputable) bar.value = progress.loaded / progress.total
      })
    }
    request.addEventListener('load', () => {
      if (request.status >= 200 && request.status < 300) {
        window.location.assign(form.dataset.done)
      } else {
        sending = false
        if (bar) bar.hidden = true
        showError(form, input, form.dataset.errorFailed)
      }
    })
    request.addEventListener('error', () => {
      sending = false
      if (bar) bar.hidden = true
      showError(form, input, form.dataset.errorFailed)
    })
    request.send(body)
  })
}

// An NHS.UK error summary above the form, and the field's error message, as the server renders them.
function showError (form, input, message) {
  document.title = document.title.startsWith('Error: ') ? document.title : `Error: ${document.title}`
  let summary = document.querySelector('.nhsuk-error-summary')
  if (!summary) {
    summary = document.createElement('div')
    summary.className = 'nhsuk-error-summary'
    summary.setAttribute('role', 'alert')
    summary.setAttribute('tabindex', '-1')
    summary.setAttribute('aria-labelledby', 'error-summary-title')
    const title = document.createElement('h2')
    title.className = 'nhsuk-error-summary__title'
    title.id = 'error-summary-title'
    title.textContent = 'There is a problem'
    const body = document.createElement('div')
    body.className = 'nhsuk-error-summary__body'
    const list = document.createElement('ul')
    list.className = 'nhsuk-list nhsuk-error-summary__list'
    body.append(list)
    summary.append(title, body)
    form.parentElement.insertBefore(summary, form.parentElement.firstChild)
  }
  const list = summary.querySelector('ul')
  list.replaceChildren()
  const item = document.createElement('li')
  const link = document.createElement('a')
  link.href = `#${form.dataset.fieldId || input.id}`
  link.textContent = message
  item.append(link)
  list.append(item)

  const group = input.closest('.nhsuk-form-group')
  if (group) {
    group.classList.add('nhsuk-form-group--error')
    let error = group.querySelector('.nhsuk-error-message')
    if (!error) {
      error = document.createElement('span')
      error.className = 'nhsuk-error-message'
      error.id = `${input.id}-error`
      input.before(error)
      input.setAttribute('aria-describedby', `${input.getAttribute('aria-describedby') || ''} ${error.id}`.trim())
    }
    error.replaceChildren()
    const hidden = document.createElement('span')
    hidden.className = 'nhsuk-u-visually-hidden'
    hidden.textContent = 'Error: '
    error.append(hidden, message)
  }
  summary.focus()
}

function followProgress (element) {
  const url = element.dataset.url
  const status = element.dataset.status
  const text = element.querySelector('[data-progress-text]')
  const bar = element.querySelector('progress')
  const poll = async () => {
    try {
      const response = await fetch(url, { headers: { Accept: 'application/json' }, credentials: 'same-origin' })
      if (response.ok) {
        const progress = await response.json()
        if (progress.status !== status) {
          window.location.reload()
          return
        }
        if (text) text.textContent = progress.text
        if (bar && progress.total) {
          bar.hidden = false
          bar.max = progress.total
          bar.value = progress.done
        }
      }
    } catch (error) {
      // A dropped connection: try again at the next tick.
    }
    window.setTimeout(poll, 2000)
  }
  window.setTimeout(poll, 2000)
}
