import { readdirSync } from 'node:fs'
import js from '@eslint/js'
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript'
import importX from 'eslint-plugin-import-x'
import jsxA11y from 'eslint-plugin-jsx-a11y'
import reactHooks from 'eslint-plugin-react-hooks'
import globals from 'globals'
import tseslint from 'typescript-eslint'

const root = import.meta.dirname

// Every folder under src/features is a feature; a new one is covered without editing this file.
const features = readdirSync(new URL('./src/features', import.meta.url), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)

/**
 * Imports flow one way: app → features → shared (components, lib, test helpers).
 * A feature never reaches into another feature: what two features need goes to the shared
 * folders, and what combines them is composed in src/app.
 */
const boundaries = [
  ...features.map((feature) => ({
    target: `./src/features/${feature}`,
    from: './src/features',
    except: [`./${feature}`],
    message: 'A feature must not import another feature: move the shared part to src/lib or src/components, or compose both in src/app.',
  })),
  {
    target: './src/features',
    from: './src/app',
    message: 'Features must not import the app: the app composes features, not the other way round.',
  },
  {
    target: ['./src/components', './src/lib', './src/test'],
    from: ['./src/features', './src/app'],
    message: 'Shared code must not import features or the app: take what it needs as props or children.',
  },
]

export default tseslint.config(
  { ignores: ['dist', 'node_modules', 'coverage'] },
  // An eslint-disable comment that no longer disables anything fails the lint.
  { linterOptions: { reportUnusedDisableDirectives: 'error' } },
  js.configs.recommended,
  // Type-aware rules (floating and misused promises, unsafe any) cost little on a code base this size.
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: root },
    },
  },
  { files: ['**/*.js'], extends: [tseslint.configs.disableTypeChecked] },
  {
    files: ['src/**/*.{ts,tsx}'],
    languageOptions: { globals: globals.browser },
    extends: [reactHooks.configs.flat['recommended-latest'], jsxA11y.flatConfigs.recommended],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: `${root}/tsconfig.app.json` })],
    },
    rules: {
      'import-x/no-restricted-paths': ['error', { basePath: root, zones: boundaries }],
      // Scroll containers (code blocks, wide tables in a labelled region) take tabIndex={0} so
      // keyboard users can scroll them (axe: scrollable-region-focusable).
      'jsx-a11y/no-noninteractive-tabindex': ['error', { tags: ['pre'], roles: ['region'] }],
    },
  },
  {
    files: ['vite.config.ts', 'eslint.config.js'],
    languageOptions: { globals: globals.node },
  },
)
